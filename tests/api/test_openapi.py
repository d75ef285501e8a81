"""The OpenAPI document covers every route, and what the routes answer matches it."""

import json

from aiohttp import web
from pydantic import BaseModel

from grid_service.openapi import document_path
from grid_service.routes import ROUTES
from grid_service.schemas import CaseRead, CategoryList, CellLocation, DepartmentList, ReportAccepted, Role
from tests.api.helpers import IN_CELL_1, report
from tests.conftest import bearer


def assert_matches(model: type[BaseModel], body: dict) -> None:
    model.model_validate(body)
    assert set(body) == set(model.model_fields), f"{model.__name__} and the answer disagree"


async def test_the_document_describes_every_route_with_its_security(client):
    response = await client.get("/openapi.json")
    document = await response.json()
    assert response.status == 200 and document["openapi"] == "3.1.0"
    for route in ROUTES:
        operation = document["paths"][document_path(route.path)][route.method.lower()]
        assert operation["summary"] and operation["description"], route.name
        by_query = [{"access_token": []}] if route.method == "GET" else []
        signed_in = [{"session": []}] if route.roles and route.roles - {Role.CHANNEL} else []
        assert operation["security"] == ([] if route.roles is None else [{"bearer": []}, *by_query, *signed_in])
        if route.roles is not None:
            assert {"401", "403"} <= set(operation["responses"])
        if route.status == 201:  # a repeat of a creating call answers 200
            assert {"200", "201"} <= set(operation["responses"]), route.name
    text = json.dumps(document)
    assert "#/$defs/" not in text, "every reference resolves inside the document's components"
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in document["components"]["schemas"], ref


async def test_no_route_of_the_running_app_is_missing_from_the_document(client):
    document = await (await client.get("/openapi.json")).json()
    served = 0
    for resource in client.server.app.router.resources():
        if isinstance(resource, web.StaticResource):
            continue  # files of the map page, not an API
        for route in resource:
            if route.method == "HEAD":
                continue  # aiohttp answers HEAD for every GET
            path = document_path(resource.canonical)
            operation = document["paths"].get(path, {}).get(route.method.lower())
            assert operation is not None, f"{route.method} {path} is served but not documented"
            assert operation["description"].strip(), f"{route.method} {path} has no description"
            served += 1
    assert served == sum(len(methods) for methods in document["paths"].values())


async def test_answers_match_the_documented_models(client, tokens):
    created = await client.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"]))
    accepted = await created.json()
    assert_matches(ReportAccepted, accepted)
    case = await (await client.get(f"/api/v1/cases/{accepted['case_id']}", headers=bearer(tokens["viewer"]))).json()
    assert_matches(CaseRead, case)
    categories = await (await client.get("/api/v1/categories", headers=bearer(tokens["viewer"]))).json()
    assert_matches(CategoryList, categories)
    departments = await (await client.get("/api/v1/departments", headers=bearer(tokens["viewer"]))).json()
    assert_matches(DepartmentList, departments)
    located = await client.get(
        "/api/v1/grids/locate", params={"lon": IN_CELL_1[0], "lat": IN_CELL_1[1]}, headers=bearer(tokens["viewer"])
    )
    assert_matches(CellLocation, await located.json())


async def test_a_photo_upload_is_documented_with_its_binary_body(client):
    document = await (await client.get("/openapi.json")).json()
    body = document["paths"]["/api/v1/media"]["post"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"image/jpeg", "image/png", "image/webp"}
    assert body["content"]["image/png"]["schema"] == {"type": "string", "format": "binary"}
