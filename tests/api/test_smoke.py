from tests.api.conftest import Api


def test_health(sqlite_api: Api) -> None:
    assert sqlite_api.client.get("/healthz").json() == {"status": "ok"}
    r = sqlite_api.client.get("/readyz")
    assert r.status_code == 200, r.text
