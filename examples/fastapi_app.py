"""A FastAPI application instrumented with fapilog-otel: request context on every record,
an access record per request, and the pipeline drained at shutdown.

Exercised here with FastAPI's ``TestClient`` (no server needed); in production run it with
``uvicorn examples.fastapi_app:app``. Needs ``pip install 'fapilog-otel[fastapi]' httpx``.
"""

from __future__ import annotations

import warnings

from fastapi import FastAPI

import fapilog_otel as fo
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.integrations.fastapi import instrument

memory = InMemoryExporter()
container = fo.Container(fo.Settings(), exporters=[memory])
log = container.get_logger("shop")

app = FastAPI()


@app.get("/orders/{order_id}")
async def get_order(order_id: int) -> dict[str, int]:
    log.info("order looked up", order_id=order_id)
    return {"order_id": order_id}


instrument(app, container=container, exclude_paths=("/healthz",))

if __name__ == "__main__":
    with warnings.catch_warnings():  # recent Starlette suggests httpx2; httpx still works
        warnings.filterwarnings("ignore", message=".*httpx2.*")
        from fastapi.testclient import TestClient

    with TestClient(app) as client:  # leaving the block runs the lifespan's shutdown: a drain
        client.get("/orders/42", headers={"X-Request-ID": "req-42"})
    for record in memory.records:
        print(record.scope.name, record.severity_text, record.body, dict(record.attributes))
    app_record, access = memory.records
    assert app_record.attributes["http.request.id"] == "req-42"
    assert app_record.attributes["http.route"] == "/orders/{order_id}"
    assert access.attributes["http.response.status_code"] == 200
