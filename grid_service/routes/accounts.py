"""Signing in and out (SPEC §13): the session routes, and the workbench's one-time codes for phones."""

from __future__ import annotations

from grid_service.handlers import devices, session
from grid_service.routes.route import READERS, Route
from grid_service.schemas import Role, SessionAnswer, SignIn
from grid_service.schemas.devices import DeviceCodeIssued, DeviceCodePath

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
    Route(
        "POST",
        "/api/v1/users/{username}/device-code",
        devices.make_device_code,
        "users.device_code",
        # A shift lead hands the phones to the inspectors of the shift.
        frozenset({Role.ADMIN, Role.SHIFT_LEAD}),
        "A one-time code (one sign-in within 10 minutes, for a phone's 90-day session) for an enabled "
        "inspector's account, made as `grid-service user device-code` makes it, with the app's sign-in "
        "address and its QR code (SVG, and as a data: URL for an <img>) for the phone's camera. The QR code "
        "holds the absolute address as the caller reached the service (behind a proxy: X-Forwarded-Proto and "
        "X-Forwarded-Host). 404 for an unknown account; 409 for a disabled one or one not an inspector's.",
        DeviceCodeIssued,
        status=201,
        path_params=DeviceCodePath,
        errors=(400, 404, 409, 503),
    ),
)
