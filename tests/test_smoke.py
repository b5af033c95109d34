from tests.utils.api import Api


async def test_register_login_and_query(api: Api) -> None:
    user_id, token = await api.signup("bob@example.com", "Bob")
    body = await api.gql("{ me { id name email role } }", token=token)
    assert body == {
        "data": {"me": {"id": user_id, "name": "Bob", "email": "bob@example.com", "role": "user"}}
    }
