"""Why the jobs table is not textual-fastdatatable: one poll's cell writes (20 running jobs,
4 changed cells each) into its ArrowBackend at 10,000 rows x 12 columns. Its update_cell
rebuilds the cell's whole column (to Python values and back to Arrow).

textual-fastdatatable is not a dependency: run this in a throwaway venv,

    python -m venv /tmp/fdt && /tmp/fdt/bin/pip install textual-fastdatatable
    /tmp/fdt/bin/python bench/fastdatatable_cells.py
"""

from __future__ import annotations

import statistics
import time

import pyarrow as pa
from textual_fastdatatable.backend import ArrowBackend

ROWS, COLUMNS, JOBS, CHANGED_CELLS = 10_000, 12, 20, (2, 3, 4, 5)


def main() -> None:
    columns = {f"c{i}": [f"{(r * 7 + i) % 997 / 1000:.4f}" for r in range(ROWS)] for i in range(COLUMNS)}
    backend = ArrowBackend(pa.table(columns))
    runs = []
    for generation in range(7):
        start = time.process_time()
        for job in range(JOBS):
            for column in CHANGED_CELLS:
                backend.update_cell(job, column, f"{generation}.{job}")
        runs.append(time.process_time() - start)
    print(f"ArrowBackend.update_cell, {JOBS * len(CHANGED_CELLS)} cells ({JOBS} jobs x {len(CHANGED_CELLS)}) at "
          f"{ROWS} rows: median {statistics.median(runs) * 1000:.0f} ms CPU (min {min(runs) * 1000:.0f}, "
          f"max {max(runs) * 1000:.0f}) per poll")


if __name__ == "__main__":
    main()
