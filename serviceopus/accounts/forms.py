from typing import Any

from django import forms

from serviceopus.core.text import reject_nul

MAX_TOKEN_DAYS = 3650


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their inputs: no colon
        super().__init__(*args, **kwargs)


class LoginForm(_Form):
    """Only the shape of the input; the view checks the password (after the throttle) itself."""

    username = forms.CharField(max_length=150, validators=[reject_nul], widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(max_length=4096, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TokenCreateForm(_Form):
    name = forms.CharField(
        max_length=100,
        validators=[reject_nul],
        help_text="What uses this token, e.g. “Alex's phone” or “Accounting export”.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Accounting export"}),
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        help_text="Leave empty for a token that does not expire.",
        widget=forms.NumberInput(attrs={"placeholder": "never"}),
    )
