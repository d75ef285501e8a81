"""Signing in and out (SPEC §13): the session routes."""

from __future__ import annotations

from grid_service.handlers import session
from grid_service.routes.route import READERS, Route
from grid_service.schemas import SessionAnswer, SignIn

SESSION_ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/api/v1/session",
        session.sign_in,
        "session.create",
        None,
        "Sign in with a username and password (a session of 12 hours, ended with the browser) or a one-time "
        "device code (a phone's session of 90 days). Sets the session cookie (HttpOnly, SameSite=Strict, "
        "Secure behind HTTPS); every write it authenticates sends the answer's csrf_token as X-CSRF-Token. "
        "401 for a wrong username, password or code; 429 after 5 failures within 15 minutes for the username "
        "or from the address.",
        SessionAnswer,
        body=SignIn,
        errors=(400, 401, 413, 415, 422, 429, 503),
    ),
    Route(
        "GET",
        "/api/v1/session",
        session.current,
        "session.get",
        READERS,
        "The signed-in person and the session's csrf_token (400 no_session for a bearer token).",
        SessionAnswer,
        errors=(400, 503),
    ),
    Route(
        "DELETE",
        "/api/v1/session",
        session.sign_out,
        "session.delete",
        READERS,
        "Sign out: the session ends (in every worker within the token-cache interval) and its cookie is "
        "cleared (400 no_session for a bearer token).",
        None,
        status=204,
        errors=(400, 503),
    ),
)
