// The live trades page: sign in (cookie), add trades (JSON POST to /graphql), and watch the
// `tradeAdded` tape over graphql-transport-ws with the vendored graphql-ws client.
// Everything it calls is on this origin; the CSP allows nothing else.
"use strict";

(() => {
  const TAPE_ROWS = 100; // rows kept on the tape
  const CHART_POINTS = 60; // prices kept per currency
  const RECENT_TRADES = 30; // loaded when the tape starts, or after a gap it cannot resume over
  const SESSION_ENDED = 4403; // the server closes the socket of a signed-out session with it
  const TRADE_FIELDS = "id seq currency side price amount createdAt user { name }";
  const RECENT = `query Recent($n: Int!) { trades(limit: $n) { ${TRADE_FIELDS} } }`;
  const ADD_TRADES = "mutation AddTrade($t: [TradeInput!]!) { addTrades(trades: $t) { id } }";
  const TRADE_ADDED = `subscription Tape($after: String) {
    tradeAdded(after: $after) { ${TRADE_FIELDS} }
  }`;
  const FEED_GAP = "FEED_GAP"; // too much was missed to replay: start afresh
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const tape = $("tape");
  const charts = new Map(); // currency -> {points: [{id, price}], element}
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
          // A first connection fills the tape; a reconnection resumes after lastSeq instead.
          if (lastSeq === null) loadRecent();
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

  /** Put a trade on the tape (ordered by id, newest first, each once) and on its chart. */
  function add(trade, source) {
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
    chart(trade);
  }

  // --- Charts: one inline SVG sparkline per currency ------------------------------------------

  function svg(name, attributes) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    return element;
  }

  function chart(trade) {
    let entry = charts.get(trade.currency);
    if (!entry) {
      const figure = document.createElement("figure");
      figure.className = "chart";
      figure.dataset.currency = trade.currency;
      const caption = document.createElement("figcaption");
      figure.append(caption, svg("svg", { viewBox: "0 0 240 64", role: "img" }));
      entry = { points: [], figure };
      charts.set(trade.currency, entry);
      const list = $("chart-list");
      const after = [...list.children].find((f) => f.dataset.currency > trade.currency);
      list.insertBefore(figure, after || null);
    }
    const points = entry.points;
    if (points.some((p) => p.id === trade.id)) return;
    points.push({ id: trade.id, price: Number(trade.price), text: decimal(trade.price, 2) });
    points.sort((a, b) => a.id - b.id);
    if (points.length > CHART_POINTS) points.splice(0, points.length - CHART_POINTS);
    draw(trade.currency, entry);
  }

  function draw(currency, { points, figure }) {
    const [width, height, pad] = [240, 64, 4];
    const prices = points.map((p) => p.price);
    const low = Math.min(...prices);
    const high = Math.max(...prices);
    const x = (i) => (points.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (points.length - 1));
    const y = (price) => (high === low ? height / 2 : height - pad - ((price - low) * (height - 2 * pad)) / (high - low));
    const first = points[0].price;
    const last = points[points.length - 1];
    const trend = last.price >= first ? "up" : "down";

    const caption = figure.querySelector("figcaption");
    caption.replaceChildren();
    const name = document.createElement("strong");
    name.textContent = currency;
    const price = document.createElement("span");
    price.className = `last ${trend}`;
    price.textContent = last.text;
    const change = document.createElement("span");
    change.className = `change ${trend}`;
    const percent = first ? ((last.price - first) / first) * 100 : 0;
    change.textContent = `${percent >= 0 ? "+" : ""}${percent.toFixed(2)}%`;
    caption.append(name, price, change);

    const graph = figure.querySelector("svg");
    graph.replaceChildren(
      svg("polyline", {
        class: `line ${trend}`,
        points: points.map((p, i) => `${x(i).toFixed(1)},${y(p.price).toFixed(1)}`).join(" "),
      }),
      svg("circle", {
        class: `dot ${trend}`,
        cx: x(points.length - 1).toFixed(1),
        cy: y(last.price).toFixed(1),
        r: 3,
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
