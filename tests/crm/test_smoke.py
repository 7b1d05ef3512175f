def test_the_home_page_sends_an_anonymous_visitor_to_log_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
