"""Dedup speed, latency, memory and rebuild time with 100,000 and 1,000,000 indexed submissions.

    .venv/bin/python -m bench.dedup_speed [--sizes 100000 1000000] [--queries 5000]
        [--corpus-dir DIR]

For each size, a SQLite file is filled with that many screened documents (realistic generated
initiatives, as the service stores them). Then, each in its own child process so that peak memory
is its own:
- the chosen method: rebuild the index from the database (timed), then screen new submissions
  one at a time (10% of them copies of indexed ones): normalise, exact hash, LSH candidates,
  candidate texts from the database, exact re-scoring, insert;
- the same without its limit on common band keys (``MatchingParameters.common_band``);
- the baseline: rensa's plain MinHash LSH on raw words (no normalisation, no re-scoring), filled
  in bulk, then insert + query one at a time.

"copies found": the chosen method's verdicts naming the copied document as the best match. The
baseline has no verdicts: "flagged" counts the queries it returned any candidate for (its index
holds the stored matching keys, its queries raw words, so it finds noise, not the copies).

docs/s is per second of wall-clock time; docs/CPU-s per second of the process's own CPU time,
which time stolen by other tenants of a shared machine does not inflate.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import queue
import random
import resource
import sqlite3
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import rensa
import typer
from rich.console import Console
from rich.table import Table

from pipeline.perturb import edit_words, truncate
from pipeline.texts import Initiative, initiative
from services.dedup.matching import Index, MatchingParameters, document_text
from services.dedup.normalise import KEY_VERSION
from services.dedup.screening import Screener
from shared.db import make_engine, make_sessionmaker
from shared.runtime import tune_garbage_collection

PROGRAM = "mot-trieu-sang-kien"


def _corpus(count: int, seed: int) -> list[Initiative]:
    rng = random.Random(seed)
    return [initiative(rng) for _ in range(count)]


def fill_database(path: Path, size: int) -> None:
    """A documents table like the service's, holding ``size`` screened initiatives."""
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE documents (seq INTEGER PRIMARY KEY, submission_id TEXT UNIQUE, "
        "program TEXT, matching_key TEXT, key_version INTEGER, signature BLOB)"
    )
    rng = random.Random(size)
    index = Index(MatchingParameters())
    insert = (
        "INSERT INTO documents (submission_id, program, matching_key, key_version, signature) "
        f"VALUES (?, ?, ?, {KEY_VERSION}, ?)"
    )
    batch: list[tuple[str, str, str, bytes]] = []
    for number in range(size):
        item = initiative(rng)
        key = document_text(item.title, *item.content())
        state = index.stored(index.probe(key).signature)
        batch.append((f"d{number}", PROGRAM, key, state))
        if len(batch) == 50_000:
            connection.executemany(insert, batch)
            batch = []
    connection.executemany(insert, batch)
    connection.commit()
    connection.close()


def corpus_path(folder: Path, size: int) -> Path:
    """Where a filled database of ``size`` documents is kept between runs: its name holds a hash
    of the first generated documents' keys and signatures, so a change to the generator or to
    the matching key makes a new file instead of reusing a stale one."""
    rng, index = random.Random(size), Index(MatchingParameters())
    fingerprint = hashlib.sha256()
    for _ in range(20):
        item = initiative(rng)
        probe = index.probe(document_text(item.title, *item.content()))
        fingerprint.update(probe.key.encode() + index.stored(probe.signature))
    return folder / f"dedup-{size}-key{KEY_VERSION}-{fingerprint.hexdigest()[:12]}.sqlite3"


def _queries(size: int, count: int) -> list[tuple[Initiative, int | None]]:
    """New submissions, each with the position of the indexed one it copies: 90% new texts
    (None), 10% copies of the first indexed ones (the generator's first, as ``fill_database``
    made them), a third each with 10% or 20% of their words edited or truncated to 60%."""
    rng = random.Random(size)
    indexed = [initiative(rng) for _ in range(min(size, 5_000))]
    fresh = _corpus(count, seed=size + 1)
    changes = (edit_words(rng, 0.1), edit_words(rng, 0.2), truncate(0.6))
    copies: list[tuple[Initiative, int | None]] = []
    for number in range(count // 10):
        original = rng.randrange(len(indexed))
        copies.append((changes[number % len(changes)](indexed[original]), original))
    return copies + [(item, None) for item in fresh[: count - len(copies)]]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_chosen(path: str, size: int, count: int, common_band: int, out: Any) -> None:
    """Child process: rebuild from the database, then screen one document at a time, with
    ``common_band`` as the method's limit on the documents a band key may hold."""
    params = replace(MatchingParameters(), common_band=common_band)
    screener = Screener(params, cache_size=0)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    started = time.perf_counter()
    rebuilt = asyncio.run(screener.rebuild(make_sessionmaker(engine)))
    rebuild = time.perf_counter() - started
    asyncio.run(engine.dispose())
    tune_garbage_collection()  # as the service does once its index is rebuilt
    index = screener.index(PROGRAM)
    db = sqlite3.connect(path)
    queries = _queries(size, count)
    latencies, found = [], 0
    cpu = time.process_time()
    for number, (item, original) in enumerate(queries):
        began = time.perf_counter()
        probe = index.probe(document_text(item.title, *item.content()))
        excluded = frozenset({f"q{number}"})
        candidates = index.shortlist(probe, excluded)
        marks = ",".join("?" * len(candidates))
        texts = (
            dict(
                db.execute(
                    "SELECT submission_id, matching_key FROM documents "
                    f"WHERE submission_id IN ({marks})",
                    candidates,
                )
            )
            if candidates
            else {}
        )
        match = index.judge(probe, excluded, texts)
        index.add(f"q{number}", probe)
        latencies.append(time.perf_counter() - began)
        found += original is not None and match.best_match == f"d{original}"
    out.put(
        {
            "rebuilt": rebuilt,
            "rebuild_s": rebuild,
            "cpu_s": time.process_time() - cpu,
            "latencies": latencies,
            "found": found,
            "peak_mib": _peak_mib(),
        }
    )


def run_baseline(path: str, size: int, count: int, _: int, out: Any) -> None:
    """Child process: rensa's plain MinHash LSH on raw words, bulk-filled, then one at a time."""
    params = MatchingParameters()
    db = sqlite3.connect(path)
    lsh = rensa.RMinHashLSH(
        threshold=params.threshold, num_perm=params.num_perm, num_bands=params.num_bands
    )
    started = time.perf_counter()
    rows = db.execute("SELECT seq, matching_key FROM documents ORDER BY seq")
    while chunk := rows.fetchmany(20_000):
        signatures = rensa.RMinHash.from_token_sets(
            [key.split() for _, key in chunk], params.num_perm, params.seed
        )
        lsh.insert_pairs([(seq, s) for (seq, _), s in zip(chunk, signatures, strict=True)])
    rebuild = time.perf_counter() - started
    latencies, flagged = [], 0
    queries = _queries(size, count)
    cpu = time.process_time()
    for number, (item, _copied) in enumerate(queries):
        began = time.perf_counter()
        minhash = rensa.RMinHash(num_perm=params.num_perm, seed=params.seed)
        minhash.update(" ".join([item.title, *item.content()]).split())
        flagged += bool(lsh.query(minhash))
        lsh.insert(size + 1 + number, minhash)
        latencies.append(time.perf_counter() - began)
    out.put(
        {
            "rebuilt": size,
            "rebuild_s": rebuild,
            "cpu_s": time.process_time() - cpu,
            "latencies": latencies,
            "flagged": flagged,
            "peak_mib": _peak_mib(),
        }
    )


def _child(target: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=target, args=(*args, out))
    process.start()
    while True:
        try:
            result: dict[str, Any] = out.get(timeout=1)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(f"{target.__name__} exited with {process.exitcode}") from None
            continue
        process.join()
        return result


def main(
    sizes: Annotated[list[int], typer.Option(help="Indexed documents.")] = [100_000, 1_000_000],  # noqa: B006
    queries: Annotated[int, typer.Option(help="Documents screened per size.")] = 5_000,
    corpus_dir: Annotated[
        Path | None,
        typer.Option(
            help="Keep the filled databases here (made if missing) and reuse them in later runs."
        ),
    ] = None,
) -> None:
    """Measure and print the table."""
    console = Console(width=150)
    if corpus_dir is not None:
        corpus_dir.mkdir(parents=True, exist_ok=True)
    table = Table(title=f"Dedup: screening {queries:,} submissions one at a time, one core")
    for column in (
        "indexed",
        "method",
        "docs/s",
        "docs/CPU-s",
        "p50 ms",
        "p99 ms",
        "peak MiB",
        "rebuild s",
        "copies found / flagged",
    ):
        table.add_column(column, justify="left" if column == "method" else "right")
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            path = corpus_path(corpus_dir or Path(folder), size)
            if path.exists():
                console.print(f"reusing {path}")
            else:
                started = time.perf_counter()
                partial = path.with_suffix(".filling")
                partial.unlink(missing_ok=True)
                fill_database(partial, size)
                partial.rename(path)
                console.print(f"filled {size:,} documents in {time.perf_counter() - started:.0f} s")
            common_band = MatchingParameters().common_band
            for name, target, limit in (
                ("chosen (normalised, re-scored)", run_chosen, common_band),
                (f"the same, bands held by >{common_band:,} kept", run_chosen, 0),
                ("baseline: rensa plain MinHash LSH", run_baseline, 0),
            ):
                result = _child(target, str(path), size, queries, limit)
                lat = result["latencies"]
                cuts = statistics.quantiles(lat, n=100)
                table.add_row(
                    f"{size:,}",
                    name,
                    f"{len(lat) / sum(lat):,.0f}",
                    f"{len(lat) / result['cpu_s']:,.0f}",
                    f"{cuts[49] * 1000:.2f}",
                    f"{cuts[98] * 1000:.2f}",
                    f"{result['peak_mib']:,.0f}",
                    f"{result['rebuild_s']:.1f}",
                    f"{result['found']:,} / {queries // 10:,} found"
                    if "found" in result
                    else f"{result['flagged']:,} flagged",
                )
                console.print(f"{size:,}: {name} done")
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
