"""The published spec and the reference page drawn from it."""
import re

from api_helpers import alice_api, api_as  # noqa: F401
from wb.api.docs import SWAGGER_UI_VERSION


def test_the_spec_is_openapi_3_1_generated_from_the_schemas(client, messaging_on):
    response = client.get("/api/v1/openapi.json")  # no token needed to read it
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "A personal access token from /settings/tokens"}
    send = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["post"]
    assert "201" in send["responses"] and "application/problem+json" in send["responses"]["429"]["content"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in send["parameters"])
    # What a client needs to wait and to poll cheaply (found missing by an outside tester).
    assert send["responses"]["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    messages = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["get"]
    assert "ETag" in messages["responses"]["200"]["headers"] and "ETag" in messages["responses"]["304"]["headers"]
    assert {("If-None-Match", "header"), ("If-Match", "header")} <= {(p["name"], p["in"]) for p in messages["parameters"]}
    assert all("ETag" not in (operation["responses"].get("200", {}).get("headers") or {})
               for path in spec["paths"].values() for operation in path.values() if "304" not in operation["responses"])
    body = next(s for name, s in spec["components"]["schemas"].items() if name.startswith("SendMessage"))
    assert body["properties"]["body"]["maxLength"] == 5000 and body["additionalProperties"] is False


def test_the_docs_page_loads_only_our_own_files(client, messaging_on):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/static/' in attributes and not inline.strip() for attributes, inline in scripts)
    assert "<style" not in page and "style=" not in page and "http" not in page.replace("http-equiv", "")
    for asset in (f"vendor/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js", f"vendor/swagger-ui-{SWAGGER_UI_VERSION}.css", "js/api-docs.js"):
        assert f"/static/{asset}" in page
        assert client.get(f"/static/{asset}").status_code == 200
