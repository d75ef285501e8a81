"""Every route × every role × (bearer token | signed-in session): the route table's rule is what the
caller meets. An allowed caller gets past authentication and the role rule (whatever the handler
then answers a request with no real case or body); any other gets 403. A channel is a machine: it
has tokens, never an account."""

import re
import uuid

from grid_service.routes import ROUTES
from grid_service.schemas import Role
from tests.api.test_sessions import person, sign_in
from tests.conftest import bearer, make_token, make_user

DEPARTMENT = "urban_management"


def concrete(path: str) -> str:
    """The route's path with an id where each placeholder is."""
    return re.sub(r"{[^}]+}", str(uuid.uuid4()), path)


async def callers(db, client):
    """(role, how, headers for a read, headers for a write) for every role and way of calling."""
    made = []
    for role in Role:
        department = DEPARTMENT if role is Role.DEPARTMENT else None
        token = await make_token(db, role.value, department, source="public" if role is Role.CHANNEL else None)
        made.append((role, "token", bearer(token), bearer(token)))
        if role is not Role.CHANNEL:
            username = await make_user(db, f"{role.value}.person", role.value, department)
            response, body = await sign_in(client, username)
            assert response.status == 200, body
            made.append((role, "session", *person(response, body)))
    return made


async def test_every_route_answers_each_role_by_its_rule_with_a_token_and_with_a_session(client, db):
    guarded = [r for r in ROUTES if r.roles is not None]  # Open311's are public: its api_key is its own
    # Signing out ends the caller's session: walked last, whatever routes the table lists after it.
    guarded.sort(key=lambda route: route.name == "session.delete")
    checked = 0
    for role, how, reads, writes in await callers(db, client):
        for route in guarded:
            headers = reads if route.method in ("GET", "HEAD") else writes
            body = {} if route.method in ("POST", "PUT", "PATCH") else None
            async with client.request(route.method, concrete(route.path), json=body, headers=headers) as response:
                where = (route.method, route.path, role.value, how, response.status)
                if role in route.roles:
                    assert response.status not in (401, 403) and response.status < 500, (where, await response.text())
                else:
                    assert response.status == 403, where
                    assert (await response.json())["error"]["code"] == "forbidden", where
            checked += 1
    assert checked == len(guarded) * (2 * len(Role) - 1) and len(guarded) > 30
