"""The one way Helio opens DuckDB: every connection that runs SQL built from user input
(queries, pipeline kernels) comes from `duckdb_connection`, with the sandbox settings.

- no external access (no HTTP, no extension downloads, no attaching other databases);
- files only under `allowed_directories` (none: Arrow tables handed in are all it sees);
- extensions neither installed nor loaded on demand;
- the configuration locked, so SQL cannot `SET` any of this back.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb


def duckdb_connection(*, threads: int = 1, allowed_directories: Sequence[str] = (),
                      memory_limit: str | None = None,
                      temp_directory: str | None = None,
                      parquet_metadata_cache: bool = False) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {"threads": max(1, threads)}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory:  # where operators spill past the memory limit
        config["temp_directory"] = temp_directory
    con = duckdb.connect(":memory:", config=config)
    if allowed_directories:
        con.execute("SET allowed_directories=?",
                    [[d.rstrip("/") + "/" for d in allowed_directories]])
    if parquet_metadata_cache:  # footers read once per connection (files never change)
        con.execute("SET parquet_metadata_cache=true")
    con.execute("SET enable_external_access=false")
    con.execute("SET autoinstall_known_extensions=false")
    con.execute("SET autoload_known_extensions=false")
    con.execute("SET lock_configuration=true")
    return con
