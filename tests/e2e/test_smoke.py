def test_sign_in_reaches_the_home_page(open_session, coordinator):
    page = open_session(coordinator)
    assert page.locator("h1").first.is_visible()
    assert "/accounts/login/" not in page.url
