"""Who is using this browser session, decided before any page runs.

With no sign-in configured the dashboard serves 127.0.0.1 only and its single user is the local
admin (no sign-in screen). With `[auth]` in `.streamlit/secrets.toml`, everyone signs in through
the OpenID Connect provider (`st.login`); their role comes from the database on every full run,
so a grant or a revoke applies at the next click. Pages read the actor through `Runtime.actor`;
the service calls they make check it again (`authorize`).
"""

from __future__ import annotations

import logging

import streamlit as st

from core.errors import BadInput
from core.services import access
from core.services.actors import Actor, Permission
from core.views.access import can
from dashboard import inert, session
from dashboard.preflight import open_bind_refusal, secrets_auth
from dashboard.runtime import Runtime
from dashboard.signin_config import DEFAULT_PROVIDER, AuthConfig

log = logging.getLogger(__name__)


def auth_config() -> AuthConfig:
    return secrets_auth()


def guard_bind(config: AuthConfig) -> None:
    """No sign-in and not on loopback, or a sign-in configured wrongly: show only the refusal
    (no engine is started, no data is read) and stop."""
    if config.enabled and config.problem:
        st.error(f"Sign-in is misconfigured: {config.problem}", icon=":material/lock:")
        st.stop()
    refusal = open_bind_refusal(st.get_option("server.address"), config)
    if refusal is None:
        return
    log.error(refusal)
    st.error(refusal, icon=":material/lock:")
    st.stop()


def _sign_in_screen(config: AuthConfig) -> None:
    st.title("CandleLab", anchor=False)
    st.write("Sign in with your organisation's account to continue.")
    for provider in config.providers:
        label = "Sign in" if provider == DEFAULT_PROVIDER else f"Sign in with {provider.capitalize()}"
        args = () if provider == DEFAULT_PROVIDER else (provider,)
        st.button(label, type="primary", icon=":material/login:", on_click=st.login, args=args)
    st.stop()


def _no_role_screen(who: str) -> None:
    st.title("CandleLab", anchor=False)
    st.warning(
        f"You are signed in as {inert.md(who)}, but this installation has given you no role yet. "
        "Ask an admin to grant one (Access page, or `python -m core roles grant EMAIL viewer`).",
        icon=":material/person_off:",
    )
    st.button("Sign out", icon=":material/logout:", on_click=st.logout)
    st.stop()


def current_actor(rt: Runtime, config: AuthConfig) -> Actor:
    """The local admin, or the signed-in user with their role; stops the run on a sign-in screen."""
    if not config.enabled:
        return Actor.local_user()
    if not st.user.is_logged_in:
        _sign_in_screen(config)
    email, subject = st.user.get("email"), st.user.get("sub")
    try:
        actor = access.signed_in_user(
            rt.ctx,
            email=str(email) if email else None,
            subject=str(subject) if subject else None,
            email_verified=st.user.get("email_verified"),  # type: ignore[arg-type]
        )
    except BadInput as exc:
        st.error(inert.error(exc))
        st.button("Sign out", on_click=st.logout)
        st.stop()
    if actor is None:
        _no_role_screen(str(email or subject))
    assert actor is not None
    return actor


def identity(actor: Actor, config: AuthConfig) -> None:
    """The sidebar's who-am-I: name, role and (with sign-in) the sign-out button."""
    if not config.enabled:
        st.caption("Local admin · no sign-in configured, served on this machine only")
        return
    name = st.user.get("name")
    shown = (
        f"{inert.md(name)} ({inert.md(actor.name)})" if name and name != actor.name else inert.md(actor.name)
    )
    st.markdown(f"Signed in as {shown}  \nRole: **{actor.role}**")
    st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="sign_out")


def require(actor: Actor, permission: Permission) -> None:
    """A page only some roles may open: a direct URL from anyone else shows the refusal only."""
    permit = can(actor, permission)
    if not permit.allowed:
        st.error(f"Not available to you: {permit.reason}", icon=":material/block:")
        st.stop()


def remember(actor: Actor) -> None:
    session.ACTOR.set(actor)
