"""Schemathesis against ``/api/v1/_openapi``, in process through the Flask app's WSGI interface.

Every operation of Portico's resources is called with generated requests, as staff and as a customer,
and every answer must be no 500, a status code the document declares, the declared content type and a
body that matches the declared schema. Bounded and deterministic: a few examples per operation, a fixed
seed (``derandomize``), no example database.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from app.api import questions, resources
from app.models import ReportDefinition
from tests.api_support import build_account, login_token
from tests.factories import ServiceLocationFactory, ServiceTypeFactory, ShippingMethodFactory, actor, make_user

MAX_EXAMPLES = 3
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]
PREFIXES = tuple(f"/api/v1/{api.resource_name}/" for api in resources() + questions())
#: Binary downloads are rendered by WeasyPrint (slow, and tested in the journey); the CSV likewise.
SKIPPED = (".pdf", "/pdf", "export.csv", "/runs/{run_id}/{name}")


@pytest.fixture()
def shop(db):
    """A reseller's account with a row of every resource in a live state, so generated calls on ``{pk}``
    reach the state machines and validation instead of stopping at 404."""
    service_type, location, method = ServiceTypeFactory(), ServiceLocationFactory(), ShippingMethodFactory()
    staff = make_user("Manager")
    db.session.commit()
    account = build_account("Schema", service_type, location, method, actor(staff), actor(make_user("Technician")))
    report = ReportDefinition(name="Weekly", kind="open_requests", cron="0 7 * * 1", recipients=["m@example.com"])
    db.session.add(report)
    db.session.commit()
    return {"staff": staff, "reseller": account["user"], "rows": {**account["rows"], "report": report.id}}


def portico_schema(app, client, token):
    spec = client.get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}).get_json()
    spec["paths"] = {path: ops for path, ops in spec["paths"].items()
                     if path.startswith(PREFIXES) and not path.endswith(SKIPPED)}
    spec["servers"] = [{"url": "/"}]
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    return schema


def exercise(schema, headers, rows: dict) -> list[str]:
    problems = []
    for result in schema.get_all_operations():
        operation = result.ok()
        resource = operation.path.split("/")[3]
        pk = {"pk": rows[resource]} if "{pk}" in operation.path else None

        @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(path_parameters=pk))
        def run(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as error:  # collect every failing operation, not just the first
            problems.append(f"{operation.method.upper()} {operation.path}: {str(error)[:1500]}")
    return problems


@pytest.mark.parametrize("role", ["staff", "reseller"])
def test_api_conforms_to_its_openapi_document(app, client, shop, role):
    token = login_token(client, shop[role].username)
    schema = portico_schema(app, client, token)
    assert len(list(schema.get_all_operations())) > 60
    problems = exercise(schema, {"Authorization": f"Bearer {token}"}, shop["rows"])
    assert not problems, "\n\n".join(problems)
