"""Dataset upload, schema inference and overrides, preview, delete and query validation."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cluster.models import Role
from tests.conftest import bearer

CSV = b"id,city,temp,day\n1,Oslo,-3.5,2024-01-01\n2,Rome,12,2024-01-02\n3,,7.25,2024-01-03\n"


@pytest.fixture
async def analyst(users) -> dict[str, str]:
    return bearer(await users.token_for(Role.analyst))


async def _upload(client, headers, name, content, filename="f.csv", **form):
    return await client.post("/api/v1/datasets", headers=headers,
                             files={"file": (filename, io.BytesIO(content))},
                             data={"name": name, **form})


def _types(body) -> dict[str, str]:
    return {c["name"]: c["type"] for c in body["latest"]["columns"]}


async def test_csv_is_inferred_stored_and_previewed(client, analyst):
    response = await _upload(client, analyst, "weather", CSV)
    assert response.status_code == 201, response.text
    body = response.json()
    assert _types(body) == {"id": "int", "city": "string", "temp": "float", "day": "date"}
    assert body["latest"]["num_rows"] == 3 and body["latest"]["version"] == 1
    preview = (await client.get(f"/api/v1/datasets/{body['id']}/preview", headers=analyst,
                                params={"limit": 2})).json()
    assert preview["rows"] == [[1, "Oslo", -3.5, "2024-01-01"], [2, "Rome", 12.0, "2024-01-02"]]
    assert preview["total_rows"] == 3


async def test_jsonl_and_parquet(client, analyst, tmp_path):
    jsonl = b'{"user": "a", "n": 1, "at": "2024-05-01T10:00:00"}\n{"user": "b", "n": 2}\n'
    response = await _upload(client, analyst, "clicks", jsonl, filename="clicks.jsonl")
    assert response.status_code == 201, response.text
    assert _types(response.json())["n"] == "int"
    frame = pd.DataFrame({"k": [1, 2, 3], "v": [0.5, None, 2.5],
                          "when": pd.to_datetime(["2024-01-01", "2024-01-02", None], utc=True)})
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), buffer)
    response = await _upload(client, analyst, "frame", buffer.getvalue(),
                             filename="anything.bin")
    assert response.status_code == 201, response.text
    assert _types(response.json()) == {"k": "int", "v": "float", "when": "timestamp"}
    preview = (await client.get(f"/api/v1/datasets/{response.json()['id']}/preview",
                                headers=analyst)).json()
    assert preview["rows"][1] == [2, None, "2024-01-02T00:00:00"]


async def test_header_only_csv_is_an_empty_dataset_with_columns(client, analyst):
    response = await _upload(client, analyst, "empty", b"a,b\n")
    assert response.status_code == 201, response.text
    assert response.json()["latest"]["num_rows"] == 0
    assert [c["name"] for c in response.json()["latest"]["columns"]] == ["a", "b"]


async def test_type_overrides(client, analyst):
    response = await _upload(client, analyst, "typed", CSV,
                             schema=json.dumps({"id": "string", "temp": "float"}))
    assert response.status_code == 201, response.text
    assert _types(response.json())["id"] == "string"


async def test_a_late_value_that_does_not_fit_widens_the_column(client, analyst):
    rows = b"".join(b"%d,x\n" % i for i in range(300_000))
    response = await _upload(client, analyst, "wide", b"n,s\n" + rows + b"1.5,y\n")
    assert response.status_code == 201, response.text
    assert _types(response.json())["n"] == "float"
    assert response.json()["latest"]["num_rows"] == 300_001


@pytest.mark.parametrize(("content", "form", "loc", "text"), [
    (b"a,b\n1,2\n3\n4,5\n", {}, ["body", "file"], "row 3"),
    (CSV, {"schema": '{"city": "int"}'}, ["body", "schema", "city"], "not a valid int"),
    (CSV, {"schema": '{"nope": "int"}'}, ["body", "schema", "nope"], "does not have"),
    (CSV, {"schema": '{"id": "money"}'}, ["body", "schema", "id"], "unknown type"),
    (CSV, {"schema": "[1]"}, ["body", "schema"], "JSON object"),
    (b"", {}, ["body", "file"], "empty"),
    (b"\x00\x01\x02binary", {}, ["body", "file"], "binary"),
    (b"PAR1garbage", {}, ["body", "file"], "Parquet"),
    (b'{"a": 1}\n{"a": "x"}\n', {"format": "jsonl"}, ["body", "file"], "line 2"),
    (CSV, {"format": "xlsx"}, ["body", "format"], "format must be"),
    (b"a,a\n1,2\n", {}, ["body", "file"], "appears twice"),
])
async def test_bad_files_get_422_naming_the_field(client, analyst, content, form, loc, text):
    response = await _upload(client, analyst, "bad", content, **form)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["loc"] == loc
    assert text in problem["errors"][0]["msg"]
    listed = (await client.get("/api/v1/datasets", headers=analyst)).json()
    assert listed["total"] == 0  # nothing half-created


async def test_duplicate_names_conflict_and_the_first_is_kept(client, analyst):
    assert (await _upload(client, analyst, "dup", CSV)).status_code == 201
    again = await _upload(client, analyst, "dup", b"x\n1\n")
    assert again.status_code == 409
    listed = (await client.get("/api/v1/datasets", headers=analyst)).json()
    assert listed["items"][0]["latest"]["num_rows"] == 3


async def test_upload_over_the_limit_is_413(settings, analyst, db):
    import httpx

    from deployments.api.main import create_api

    small = create_api(settings.model_copy(update={"max_upload_bytes": 64 * 1024}),
                       use_actors=False)
    transport = httpx.ASGITransport(app=small, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await client.post("/api/v1/datasets", headers=analyst,
                                     files={"file": ("big.csv", b"a\n" + b"1\n" * 40_000)})
        assert response.status_code == 413
        assert (await client.get("/api/v1/datasets", headers=analyst)).json()["total"] == 0
    await small.state.ctx.close()


async def test_viewer_cannot_upload_or_delete(client, users, analyst):
    viewer = bearer(await users.token_for(Role.viewer))
    assert (await _upload(client, viewer, "v", CSV)).status_code == 403
    created = (await _upload(client, analyst, "mine", CSV)).json()
    assert (await client.delete(f"/api/v1/datasets/{created['id']}",
                                headers=viewer)).status_code == 403
    assert (await client.get(f"/api/v1/datasets/{created['id']}",
                             headers=viewer)).status_code == 200


async def test_delete_removes_rows_and_files(client, analyst, app):
    created = (await _upload(client, analyst, "gone", CSV)).json()
    root = app.state.ctx.data_root.dataset_dir(created["id"])
    assert root.exists()
    assert (await client.delete(f"/api/v1/datasets/{created['id']}",
                                headers=analyst)).status_code == 204
    assert not root.exists()
    assert (await client.get(f"/api/v1/datasets/{created['id']}",
                             headers=analyst)).status_code == 404


async def test_query_in_process_and_its_validation(client, analyst):
    created = (await _upload(client, analyst, "q", CSV)).json()
    url = f"/api/v1/datasets/{created['id']}/query"
    ok = await client.post(url, headers=analyst, json={
        "filter": "temp > 0", "group_by": [{"column": "day", "bucket": "month"}],
        "aggregations": [{"op": "count"}, {"op": "sum", "column": "temp"}]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["rows"] == [["2024-01-01", 2, 19.25]]
    for body, loc in [
        ({"filter": "__import__('os')"}, ["body", "filter"]),
        ({"filter": "temp + 1"}, ["body", "filter"]),
        ({"columns": ["nope"]}, ["body", "columns", "0"]),
        ({"group_by": ["city"], "aggregations": [{"op": "mean", "column": "city"}]},
         ["body", "aggregations", "0", "column"]),
        ({"group_by": [{"column": "city", "bucket": "day"}], "aggregations": [{"op": "count"}]},
         ["body", "group_by", "0", "bucket"]),
        ({"columns": ["id"], "order_by": [{"column": "temp"}]},
         ["body", "order_by", "0", "column"]),
        ({"limit": 0}, ["body", "limit"]),
    ]:
        response = await client.post(url, headers=analyst, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["loc"] == loc, (body, response.json())


async def test_pipeline_specs_are_checked_against_the_data(client, analyst):
    await _upload(client, analyst, "src", CSV)

    async def create(spec=None, **extra):
        body = {"name": "p", **({"spec": spec} if spec is not None else {}), **extra}
        return await client.post("/api/v1/pipelines", headers=analyst, json=body)

    base = {"source": {"dataset": "src"}, "sink": {"dataset": "out"}}
    cases = [
        ({**base, "steps": [{"op": "filter", "expr": "temp > 'x' or __import__('os')"}]},
         ["body", "spec", "steps", "0", "expr"]),
        ({**base, "steps": [{"op": "select", "columns": ["id", "nope"]}]},
         ["body", "spec", "steps", "0", "columns", "1"]),
        ({**base, "steps": [{"op": "explode"}]}, ["body", "spec", "steps", "0"]),
        ({**base, "source": {"dataset": "missing"}}, ["body", "spec", "source", "dataset"]),
        ({**base, "steps": [{"op": "join", "dataset": "missing", "on": ["id"]}]},
         ["body", "spec", "steps", "0", "dataset"]),
    ]
    for spec, loc in cases:
        response = await create(spec)
        assert response.status_code == 422, (spec, response.text)
        assert response.json()["errors"][0]["loc"][:len(loc)] == loc, response.json()
    yaml_bad = await create(spec_yaml="source: [unclosed")
    assert yaml_bad.status_code == 422
    assert yaml_bad.json()["errors"][0]["loc"] == ["body", "spec_yaml"]
    ok = await create(spec_yaml="source: {dataset: src}\nsteps:\n  - {op: drop_null}\n"
                                "sink: {dataset: out}\n")
    assert ok.status_code == 201, ok.text
    assert (await create(spec=base)).status_code == 409
    listed = (await client.get("/api/v1/pipelines", headers=analyst)).json()
    assert listed["total"] == 1 and listed["items"][0]["spec"]["steps"] == [{"op": "drop_null"}]


async def test_pipeline_edit_history_clone_and_delete(client, analyst, users):
    await _upload(client, analyst, "src", CSV)
    spec = {"source": {"dataset": "src"}, "steps": [{"op": "drop_null"}],
            "sink": {"dataset": "out"}}
    first = (await client.post("/api/v1/pipelines", headers=analyst,
                               json={"name": "p1", "spec": spec})).json()
    assert first["version"] == 1 and first["last_job_id"] is None
    url = f"/api/v1/pipelines/{first['id']}"
    edited = await client.put(url, headers=analyst, json={
        "name": "p1-renamed", "version": 1,
        "spec_yaml": "source: {dataset: src}\nsteps: [{op: limit, n: 2}]\n"
                     "sink: {dataset: out}\n"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2 and edited.json()["name"] == "p1-renamed"
    assert edited.json()["spec"]["steps"] == [{"op": "limit", "n": 2}]
    stale = await client.put(url, headers=analyst, json={"name": "x", "spec": spec,
                                                         "version": 1})
    assert stale.status_code == 409 and stale.json()["current"]["version"] == 2
    bad = await client.put(url, headers=analyst, json={
        "name": "p1-renamed", "version": 2,
        "spec": {**spec, "steps": [{"op": "select", "columns": ["nope"]}]}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"][:5] == ["body", "spec", "steps", "0", "columns"]
    history = (await client.get(f"{url}/versions", headers=analyst)).json()["items"]
    assert [(v["version"], v["name"]) for v in history] == [(2, "p1-renamed"), (1, "p1")]
    assert history[1]["spec"]["steps"] == [{"op": "drop_null"}]
    # A clone is a new pipeline with the same spec; a taken name is a 409.
    clone = await client.post("/api/v1/pipelines", headers=analyst,
                              json={"name": "p1-copy", "spec": edited.json()["spec"]})
    assert clone.status_code == 201
    taken = await client.put(url, headers=analyst, json={"name": "p1-copy", "spec": spec,
                                                         "version": 2})
    assert taken.status_code == 409
    other = bearer(await users.token_for(Role.analyst))
    assert (await client.delete(url, headers=other)).status_code == 403
    assert (await client.delete(url, headers=analyst)).status_code == 204
    assert (await client.get(url, headers=analyst)).status_code == 404
    assert (await client.get(f"{url}/versions", headers=analyst)).status_code == 404


async def test_validate_returns_each_steps_columns_and_stores_nothing(client, analyst, users):
    await _upload(client, analyst, "vsrc", CSV)
    spec = {"source": {"dataset": "vsrc"}, "steps": [
        {"op": "derive", "column": "hot", "expr": "temp > 10"},
        {"op": "aggregate", "group_by": ["hot"], "aggregations": [{"op": "count"}]}],
        "sink": {"dataset": "vout"}}
    checked = await client.post("/api/v1/pipelines/validate", headers=analyst,
                                json={"spec": spec})
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["schemas"] == [
        {"id": "int", "city": "string", "temp": "float", "day": "date"},
        {"id": "int", "city": "string", "temp": "float", "day": "date", "hot": "bool"},
        {"hot": "bool", "count": "int"}]
    assert body["sink_exists"] is False and body["spec"]["steps"][1]["op"] == "aggregate"
    as_yaml = await client.post("/api/v1/pipelines/validate", headers=analyst, json={
        "spec_yaml": "source: {dataset: vsrc}\nsteps: [{op: select, columns: [temp]}]\n"
                     "sink: {dataset: vsrc}\n"})
    assert as_yaml.json()["schemas"][-1] == {"temp": "float"}
    assert as_yaml.json()["sink_exists"] is True
    bad = await client.post("/api/v1/pipelines/validate", headers=analyst, json={
        "spec": {**spec, "steps": [{"op": "filter", "expr": "tmp > 1"}]}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"][:5] == ["body", "spec", "steps", "0", "expr"]
    broken_yaml = await client.post("/api/v1/pipelines/validate", headers=analyst,
                                    json={"spec_yaml": "source: [unclosed"})
    assert broken_yaml.status_code == 422
    assert broken_yaml.json()["errors"][0]["loc"] == ["body", "spec_yaml"]
    listed = (await client.get("/api/v1/pipelines", headers=analyst)).json()["items"]
    assert not any(p["spec"]["source"]["dataset"] == "vsrc" for p in listed)


async def test_inspect_shows_types_and_keeps_leading_zeros_on_request(client, analyst):
    content = b"zip,city,amount\n01067,Dresden,3.5\n10115,Berlin,4\n02108,Boston,1\n"
    inspected = await client.post("/api/v1/datasets/inspect", headers=analyst,
                                  files={"file": ("z.csv", io.BytesIO(content))})
    assert inspected.status_code == 200, inspected.text
    body = inspected.json()
    assert body["format"] == "csv"
    assert {c["name"]: c["type"] for c in body["columns"]} == {
        "zip": "int", "city": "string", "amount": "float"}
    assert "leading zeros" in body["hints"]["zip"] and "amount" not in body["hints"]
    assert body["rows"][0] == [1067, "Dresden", 3.5]
    kept = await client.post("/api/v1/datasets/inspect", headers=analyst,
                             files={"file": ("z.csv", io.BytesIO(content))},
                             data={"schema": json.dumps({"zip": "string"})})
    assert kept.json()["rows"][0][0] == "01067" and kept.json()["hints"] == {}
    uploaded = await _upload(client, analyst, "zips", content, schema=json.dumps({"zip": "string"}))
    assert _types(uploaded.json())["zip"] == "string"
    preview = (await client.get(f"/api/v1/datasets/{uploaded.json()['id']}/preview",
                                headers=analyst)).json()
    assert [r[0] for r in preview["rows"]] == ["01067", "10115", "02108"]
    # Nothing was stored by the inspections.
    listed = (await client.get("/api/v1/datasets", headers=analyst)).json()
    assert [d["name"] for d in listed["items"]] == ["zips"]
    bad = await client.post("/api/v1/datasets/inspect", headers=analyst,
                            files={"file": ("z.csv", io.BytesIO(content))},
                            data={"schema": json.dumps({"ghost": "string"})})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "schema", "ghost"]


async def test_download_as_csv_and_parquet(client, analyst, users):
    uploaded = (await _upload(client, analyst, "dl", CSV)).json()
    url = f"/api/v1/datasets/{uploaded['id']}/download"
    viewer = bearer(await users.token_for(Role.viewer))
    as_csv = await client.get(url, headers=viewer)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="dl-v1.csv"' in as_csv.headers["content-disposition"]
    frame = pd.read_csv(io.BytesIO(as_csv.content))
    assert list(frame.columns) == ["id", "city", "temp", "day"] and len(frame) == 3
    assert frame.temp.tolist() == [-3.5, 12, 7.25]
    as_parquet = await client.get(url, headers=viewer, params={"format": "parquet"})
    assert as_parquet.status_code == 200
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.num_rows == 3 and table.column("city").to_pylist() == ["Oslo", "Rome", None]
    assert (await client.get(url, headers=viewer, params={"format": "xlsx"})).status_code == 422
    assert (await client.get(url, headers=viewer, params={"version": 9})).status_code == 404
