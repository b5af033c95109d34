// The live trades page: sign in (cookie), add trades (JSON POST to /graphql), and watch the
// `tradeAdded` tape over graphql-transport-ws with the vendored graphql-ws client; each
// currency's chart draws the server's candles (`candles`, then `candleUpdated`).
// Everything it calls is on this origin; the CSP allows nothing else.
"use strict";

(() => {
  const TAPE_ROWS = 100; // rows kept on the tape
  const CANDLE_INTERVAL = "ONE_MINUTE";
  const CANDLE_MS = 60 * 1000;
  const CHART_CANDLES = 60; // minutes a chart shows
  const RECENT_TRADES = 30; // loaded when the tape starts, or after a gap it cannot resume over
  const SESSION_ENDED = 4403; // the server closes the socket of a signed-out session with it
  const TRADE_FIELDS = "id seq currency side price amount createdAt user { name }";
  const RECENT = `query Recent($n: Int!) { trades(limit: $n) { ${TRADE_FIELDS} } }`;
  const ADD_TRADES = "mutation AddTrade($t: [TradeInput!]!) { addTrades(trades: $t) { id } }";
  const TRADE_ADDED = `subscription Tape($after: String) {
    tradeAdded(after: $after) { ${TRADE_FIELDS} }
  }`;
  const CANDLE_FIELDS = "start open high low close volume trades";
  const CANDLES = `query Candles($currency: String!, $interval: CandleInterval!, $from: DateTime!) {
    candles(currency: $currency, interval: $interval, from: $from) { ${CANDLE_FIELDS} }
  }`;
  const CANDLE_UPDATED = `subscription Candle($currency: String!, $interval: CandleInterval!) {
    candleUpdated(currency: $currency, interval: $interval) { ${CANDLE_FIELDS} }
  }`;
  const FEED_GAP = "FEED_GAP"; // too much was missed to replay: start afresh
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const tape = $("tape");
  const charts = new Map(); // currency -> {candles: Map(start ms -> candle), figure, stop}
  let client = null;
  let stopTape = null;
  // The feed position of the last live trade: a reconnecting socket resumes after it.
  let lastSeq = null;

  // --- HTTP -----------------------------------------------------------------------------------

  /** A GraphQL operation over a JSON POST: the session cookie goes with it, and JSON is what
   * the server's CSRF rule lets through without a preflight header. */
  async function graphql(query, variables) {
    const response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
      },
      body: JSON.stringify({ query, variables }),
    });
    let body;
    try {
      body = await response.json();
    } catch {
      throw new Error(`HTTP ${response.status}`);
    }
    if (body.errors && body.errors.length) {
      const error = new Error(body.errors[0].message);
      error.code = body.errors[0].extensions && body.errors[0].extensions.code;
      throw error;
    }
    return body.data;
  }

  async function viewer() {
    return (await graphql("query Me { me { id name } }", {})).me; // null when signed out
  }

  // --- Signing in and out ---------------------------------------------------------------------

  function show(signedIn) {
    $("sign-in").hidden = signedIn;
    $("viewer").hidden = !signedIn;
    for (const id of ["trade", "charts", "tape-panel"]) $(id).hidden = !signedIn;
  }

  async function signIn(event) {
    event.preventDefault();
    const form = event.target;
    const error = $("sign-in-error");
    error.textContent = "";
    form.querySelector("button").disabled = true;
    try {
      const response = await fetch("/auth/login", {
        method: "POST",
        credentials: "same-origin",
        body: new URLSearchParams(new FormData(form)),
      });
      if (response.status === 204) {
        $("password").value = "";
        await start();
      } else if (response.status === 429) {
        error.textContent = "Too many failed sign-ins: try again later.";
      } else {
        error.textContent = "Incorrect email or password.";
      }
    } catch {
      error.textContent = "The server cannot be reached.";
    } finally {
      form.querySelector("button").disabled = false;
    }
  }

  async function signOut() {
    stop();
    try {
      await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
    } finally {
      show(false);
    }
  }

  function ended(message) {
    stop();
    show(false);
    $("sign-in-error").textContent = message;
  }

  async function start() {
    let me = null;
    try {
      me = await viewer();
    } catch (error) {
      // An expired or logged-out cookie is refused (and deleted by the answer): sign in again.
      $("sign-in-error").textContent =
        error.code === "UNAUTHENTICATED"
          ? "Your session has ended: sign in again."
          : "The server cannot be reached.";
    }
    if (me === null) {
      show(false);
      return;
    }
    $("viewer-name").textContent = me.name;
    show(true);
    watch();
  }

  // --- The tape -------------------------------------------------------------------------------

  function setConnection(state) {
    const badge = $("connection");
    badge.dataset.state = state;
    badge.textContent = state;
  }

  function watch() {
    stop();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // Events of a client already replaced (signed out, signed in again) change nothing.
    const current = () => client === socket;
    const socket = graphqlWs.createClient({
      url: `${scheme}://${location.host}/graphql`, // same origin: the cookie signs the socket in
      retryAttempts: Infinity, // a live page keeps trying while the server restarts
      retryWait: (retries) =>
        new Promise((resolve) =>
          setTimeout(resolve, Math.min(2 ** retries, 30) * 1000 + Math.random() * 1000),
        ),
      shouldRetry: (event) => !(event && event.code === SESSION_ENDED),
      on: {
        connecting: () => current() && setConnection("connecting"),
        connected: () => {
          if (!current()) return;
          setConnection("live");
          // A first connection fills the tape; a reconnection resumes after lastSeq instead,
          // and reads the charts' candles again (graphql-ws resubscribes their updates).
          if (lastSeq === null) loadRecent();
          for (const currency of charts.keys()) loadCandles(currency);
        },
        closed: () => current() && setConnection("reconnecting"),
      },
    });
    client = socket;
    stopTape = socket.subscribe(
      // Read each time graphql-ws (re)sends the subscription, so a retry resumes where it was.
      { query: TRADE_ADDED, variables: { get after() { return lastSeq; } } },
      {
        next: ({ data, errors }) => {
          if (errors && errors.some((e) => e.extensions && e.extensions.code === FEED_GAP)) {
            lastSeq = null;
            watch();
            return;
          }
          if (!data || !data.tradeAdded) return;
          if (data.tradeAdded.seq) lastSeq = data.tradeAdded.seq;
          add(data.tradeAdded, "live");
        },
        error: (error) => {
          if (error && error.code === SESSION_ENDED) ended("Your session has ended: sign in again.");
          else setConnection("error");
        },
        complete: () => {},
      },
    );
  }

  function stop() {
    lastSeq = null;
    stopCharts();
    const current = client;
    client = null;
    if (stopTape) stopTape();
    stopTape = null;
    if (current) current.dispose();
    setConnection("offline");
  }

  async function loadRecent() {
    try {
      const data = await graphql(RECENT, { n: RECENT_TRADES });
      for (const trade of data.trades.slice().reverse()) add(trade, "recent");
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") ended("Your session has ended: sign in again.");
    }
  }

  /** A decimal string without the trailing zeros of the server's fixed scale, at least `places`
   * decimals kept: strings all the way, so nothing is rounded. */
  function decimal(text, places) {
    const [whole, fraction = ""] = String(text).split(".");
    const digits = fraction.replace(/0+$/, "").padEnd(places, "0");
    return digits ? `${whole}.${digits}` : whole;
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  /** Put a trade on the tape (ordered by id, newest first, each once); its currency gets a
   * chart. */
  function add(trade, source) {
    chart(trade.currency);
    if (tape.querySelector(`tr[data-trade-id="${Number(trade.id)}"]`)) return;
    const side = trade.side.toLowerCase();
    const row = document.createElement("tr");
    row.dataset.tradeId = String(trade.id);
    row.dataset.source = source;
    row.className = `trade ${side}${source === "live" ? " fresh" : ""}`;
    row.append(
      cell(new Date(trade.createdAt).toLocaleTimeString([], { hour12: false }), "time"),
      cell(trade.currency, "currency"),
      cell(trade.side, `side ${side}`),
      cell(decimal(trade.price, 2), "num price"),
      cell(decimal(trade.amount, 0), "num amount"),
      cell(trade.user.name, "trader"),
    );
    let before = tape.firstElementChild;
    while (before && Number(before.dataset.tradeId) > trade.id) before = before.nextElementSibling;
    tape.insertBefore(row, before);
    while (tape.children.length > TAPE_ROWS) tape.lastElementChild.remove();
  }

  // --- Charts: one-minute candles per currency, from `candles` then `candleUpdated` ----------

  function svg(name, attributes) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    return element;
  }

  /** The chart of a currency, created (and fed) the first time the currency is seen. */
  function chart(currency) {
    if (charts.has(currency) || !client) return; // signed out meanwhile: no chart to feed
    const figure = document.createElement("figure");
    figure.className = "chart";
    figure.dataset.currency = currency;
    const caption = document.createElement("figcaption");
    figure.append(caption, svg("svg", { viewBox: "0 0 240 64", role: "img" }));
    const entry = { candles: new Map(), figure, stop: null };
    charts.set(currency, entry);
    const list = $("chart-list");
    const after = [...list.children].find((f) => f.dataset.currency > currency);
    list.insertBefore(figure, after || null);
    // Subscribed before the history is read: an update that races the read is kept either way.
    entry.stop = client.subscribe(
      { query: CANDLE_UPDATED, variables: { currency, interval: CANDLE_INTERVAL } },
      {
        next: ({ data }) => data && data.candleUpdated && merge(currency, [data.candleUpdated], "live"),
        error: () => {},
        complete: () => {},
      },
    );
    loadCandles(currency);
  }

  /** The last CHART_CANDLES minutes of a currency's candles, as the server computed them. */
  async function loadCandles(currency) {
    const from = new Date(Date.now() - CHART_CANDLES * CANDLE_MS).toISOString();
    try {
      const data = await graphql(CANDLES, { currency, interval: CANDLE_INTERVAL, from });
      merge(currency, data.candles, "history");
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") ended("Your session has ended: sign in again.");
    }
  }

  /** Keep each bucket's fullest version: a bucket's trades only grow, whichever answer came
   * first (the history or a live update). */
  function merge(currency, candles, source) {
    const entry = charts.get(currency);
    if (!entry) return;
    for (const candle of candles) {
      const start = Date.parse(candle.start);
      const known = entry.candles.get(start);
      if (!known || candle.trades >= known.trades) entry.candles.set(start, { ...candle, source });
    }
    const oldest = Date.now() - CHART_CANDLES * CANDLE_MS;
    for (const start of entry.candles.keys()) if (start < oldest - CANDLE_MS) entry.candles.delete(start);
    draw(currency, entry);
  }

  function stopCharts() {
    for (const entry of charts.values()) if (entry.stop) entry.stop();
    charts.clear();
    $("chart-list").replaceChildren();
  }

  function draw(currency, { candles, figure }) {
    const shown = [...candles.entries()].sort((a, b) => a[0] - b[0]);
    if (!shown.length) return;
    const [width, height, pad] = [240, 64, 4];
    const low = Math.min(...shown.map(([, c]) => Number(c.low)));
    const high = Math.max(...shown.map(([, c]) => Number(c.high)));
    // A slot per minute of the window, the newest on the right; minutes without trades stay empty.
    const newest = shown[shown.length - 1][0];
    const slot = (width - 2 * pad) / CHART_CANDLES;
    const x = (start) => width - pad - slot / 2 - ((newest - start) / CANDLE_MS) * slot;
    const y = (price) =>
      high === low ? height / 2 : height - pad - ((Number(price) - low) * (height - 2 * pad)) / (high - low);
    const first = shown[0][1];
    const last = shown[shown.length - 1][1];
    const trend = Number(last.close) >= Number(first.open) ? "up" : "down";

    const caption = figure.querySelector("figcaption");
    caption.replaceChildren();
    const name = document.createElement("strong");
    name.textContent = currency;
    const price = document.createElement("span");
    price.className = `last ${trend}`;
    price.textContent = decimal(last.close, 2);
    const change = document.createElement("span");
    change.className = `change ${trend}`;
    const open = Number(first.open);
    const percent = open ? ((Number(last.close) - open) / open) * 100 : 0;
    change.textContent = `${percent >= 0 ? "+" : ""}${percent.toFixed(2)}%`;
    caption.append(name, price, change);

    const graph = figure.querySelector("svg");
    graph.replaceChildren(
      ...shown.map(([start, c]) => {
        const direction = Number(c.close) >= Number(c.open) ? "up" : "down";
        const top = Math.min(y(c.open), y(c.close));
        const group = svg("g", {
          class: `candle ${direction}`,
          "data-start": c.start,
          "data-open": c.open,
          "data-high": c.high,
          "data-low": c.low,
          "data-close": c.close,
          "data-volume": c.volume,
          "data-trades": String(c.trades),
          "data-source": c.source,
        });
        group.append(
          svg("line", {
            class: "wick",
            x1: x(start).toFixed(1),
            x2: x(start).toFixed(1),
            y1: y(c.high).toFixed(1),
            y2: y(c.low).toFixed(1),
          }),
          svg("rect", {
            class: "body",
            x: (x(start) - slot * 0.35).toFixed(1),
            y: top.toFixed(1),
            width: (slot * 0.7).toFixed(1),
            height: Math.max(Math.abs(y(c.open) - y(c.close)), 1).toFixed(1),
          }),
        );
        return group;
      }),
    );
  }

  // --- Adding a trade -------------------------------------------------------------------------

  async function addTrade(event) {
    event.preventDefault();
    const result = $("trade-result");
    const button = event.target.querySelector("button");
    result.textContent = "";
    result.className = "result";
    button.disabled = true; // one click, one trade
    try {
      const trade = {
        currency: $("currency").value.trim().toUpperCase(),
        side: $("side").value,
        price: $("price").value.trim(), // decimals travel as strings: no float rounding
        amount: $("amount").value.trim(),
      };
      const data = await graphql(ADD_TRADES, { t: [trade] });
      const id = data.addTrades[0].id;
      result.textContent = `Added trade #${id}`;
      result.dataset.tradeId = String(id);
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") return ended("Your session has ended: sign in again.");
      result.textContent = error.message;
      result.className = "result error";
    } finally {
      button.disabled = false;
    }
  }

  $("sign-in-form").addEventListener("submit", signIn);
  $("trade-form").addEventListener("submit", addTrade);
  $("sign-out").addEventListener("click", signOut);
  start();
})();
