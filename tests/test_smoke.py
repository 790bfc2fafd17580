def test_dashboard_renders_for_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Neighbours helping neighbours" in response.get_data(as_text=True)
    # no empty list in the main navigation: read out as "list, 0 items" (a newcomer's tester)
    for path in ("/", "/login"):
        assert 'class="nav-links"' not in client.get(path).get_data(as_text=True)


def test_member_signs_in_through_the_form(client, alice):
    response = client.login("alice")
    assert response.location == "/"
    assert "Hello, <bdi>Alice</bdi>" in client.get("/").get_data(as_text=True)
    assert 'class="nav-links"' in client.get("/").get_data(as_text=True)
