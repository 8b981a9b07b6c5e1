from allauth.account.adapter import DefaultAccountAdapter


class ClosedSignupAdapter(DefaultAccountAdapter):
    """Accounts are created by the administrator only."""

    def is_open_for_signup(self, request) -> bool:
        return False
