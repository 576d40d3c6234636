from tests.dashboard.world import Platform


def test_operator_sees_alert(client, login, world: Platform) -> None:
    alert_id = world.raise_alert("r1")
    r = client.get("/api/alerts", headers=login("operator"))
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()] == [alert_id]
    r = client.get(f"/api/alerts/{alert_id}", headers=login("operator"))
    assert r.status_code == 200, r.text
    r = client.get("/api/residents/r1", headers=login("operator"))
    assert r.status_code == 200, r.text
    r = client.get("/api/figures", headers=login("supervisor"))
    assert r.status_code == 200, r.text
