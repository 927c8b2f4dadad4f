"""Where data lives under the data root, and how a new dataset version is published.

    <data root>/datasets/<dataset id>/v<N>/part-*.parquet   published, immutable
    <data root>/datasets/<dataset id>/.staging/<token>/     being written (never read)
    <data root>/jobs/<job id>/                              a job's scratch space

A version becomes visible only when its row is committed in the database (see
`cluster.catalog.datasets.publish`); the directory is moved into place just before.
The data root must be a path every Ray node sees (local disk on one machine, NFS
or a shared volume on a cluster).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

STAGING = ".staging"


class DataRoot:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    def dataset_dir(self, dataset_id: uuid.UUID | str) -> Path:
        return self.root / "datasets" / str(dataset_id)

    def version_dir(self, dataset_id: uuid.UUID | str, version: int) -> Path:
        return self.dataset_dir(dataset_id) / f"v{version}"

    def staging_dir(self, dataset_id: uuid.UUID | str) -> Path:
        """A fresh private directory to write a version into before it is published."""
        path = self.dataset_dir(dataset_id) / STAGING / uuid.uuid4().hex
        path.mkdir(parents=True, exist_ok=False)
        return path

    def job_dir(self, job_id: uuid.UUID | str) -> Path:
        path = self.root / "jobs" / str(job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def highest_version_dir(self, dataset_id: uuid.UUID | str) -> int:
        """The highest `v<N>` directory present (published or left by a crashed writer)."""
        found = [int(p.name[1:]) for p in self.dataset_dir(dataset_id).glob("v*")
                 if p.name[1:].isdigit()]
        return max(found, default=0)

    def move_into_place(self, staged: Path, dataset_id: uuid.UUID | str, version: int) -> Path:
        """Rename the staged directory to `v<version>` (atomic on one filesystem);
        FileExistsError if another writer took that number first."""
        target = self.version_dir(dataset_id, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staged, target)  # fails on an existing non-empty directory
        except OSError as exc:
            if target.exists():
                raise FileExistsError(str(target)) from exc
            raise
        return target

    def remove_dataset(self, dataset_id: uuid.UUID | str) -> None:
        shutil.rmtree(self.dataset_dir(dataset_id), ignore_errors=True)


def parquet_files(directory: Path | str) -> list[str]:
    """The Parquet files of one version, in a stable order."""
    return sorted(str(p) for p in Path(directory).glob("*.parquet"))


def parquet_meta(directory: Path | str) -> dict[str, int]:
    """Rows (from the files' footers), bytes and file count of a directory of Parquet."""
    import pyarrow.parquet as pq

    files = parquet_files(directory)
    return {"num_rows": sum(pq.ParquetFile(f).metadata.num_rows for f in files),
            "num_bytes": sum(Path(f).stat().st_size for f in files), "num_files": len(files)}
