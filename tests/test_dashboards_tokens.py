"""The Account page's API tokens: created and shown once, listed, revoked (refused at once after)."""

from __future__ import annotations

import pytest

from acl import TokenInvalid, token_user
from dashboards import backend
from tests.test_dashboards_data import copy_home, goto, open_app


def token_table(at) -> str:  # noqa: ANN001 - an AppTest
    """The tokens table as text (the page's other table lists the grants)."""
    return next(d.value.to_string() for d in at.dataframe if "Last used" in d.value.columns)


def test_a_user_creates_a_token_sees_it_once_and_revokes_it(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    at = goto(open_app(home, "alice", monkeypatch), "account.py")
    at.text_input(key="token_name").input("my notebook")
    at.selectbox(key="token_expires").set_value(30)
    at = at.button(key="token_submit").click().run()
    shown = [c.value for c in at.code if c.value.startswith("rwt_")]
    assert len(shown) == 1
    secret = shown[0]
    assert token_user(backend.store(home.path), secret).name == "alice"
    table = token_table(at)
    assert "my notebook" in table and "active" in table and len(table.splitlines()) == 2
    at = at.run()
    assert not [c for c in at.code if c.value.startswith("rwt_")], "a token is shown only once"
    at = at.button(key="token_revoke").click().run()
    assert "revoked" in token_table(at)
    with pytest.raises(TokenInvalid):
        token_user(backend.store(home.path), secret)
