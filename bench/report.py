"""The registry benchmark's figures as Markdown tables, written into docs/benchmarks.md between markers."""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from probes import PAGES, example_queries

START, END = "<!-- registry-benchmark:start -->", "<!-- registry-benchmark:end -->"
HUGE_START, HUGE_END = "<!-- registry-huge:start -->", "<!-- registry-huge:end -->"
OLD_PLACEHOLDER = "Registry-scale figures (350,000 persons) are the subject of a later issue.\n"
POINTER = "Registry-scale figures (10,000 to 350,000 persons) follow the endpoint section below.\n"
# (results key, column title) of the HTTP and in-process targets, in the order of the tables.
TARGETS = (("embedded", "ours, embedded"), ("remote", "ours over oxigraph serve"), ("oxigraph", "oxigraph serve"),
           ("rdflib", "rdflib-endpoint"), ("inproc", "pyoxigraph in process"))
HEAVY = ("registry GROUP BY", "ORDER BY + LIMIT")
MB = 2 ** 20


def target(size: dict, key: str) -> dict | None:
    """The figures of one target of one size (the floor and the remote site share a stage)."""
    if key in ("oxigraph", "remote"):
        return (size.get("oxigraph") or {}).get(key)
    value = size.get(key)
    return value if value and "error" not in value else None


def fmt(x, digits: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def mb(x) -> str:
    return "—" if not x else f"{x / MB:,.0f} MB"


def table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out + [""]


def p50(size: dict, key: str, probe: str, series: str = "cold") -> float | None:
    t = target(size, key)
    return ((t or {}).get(series) or {}).get(probe, {}).get("p50")


def cell(size: dict, key: str, probe: str, series: str = "cold") -> str:
    f = ((target(size, key) or {}).get(series) or {}).get(probe)
    if f is None:
        return "—"
    if "p50" not in f:
        return str(f.get("status"))
    return f"{f['p50']:.1f} / {f['p95']:.1f}"


def ratio(a, b) -> str:
    return "—" if not a or not b else f"{a / b:.2f}x"


def probe_names(size: dict) -> list[str]:
    names: list[str] = []
    for key, _ in TARGETS:
        for name in ((target(size, key) or {}).get("cold") or {}):
            if name not in names:
                names.append(name)
    return names


def registry_load(size: dict) -> tuple[float | None, float | None]:
    """Our build's registry-load step: (seconds, registry triples per second)."""
    summary = (size.get("build") or {}).get("summary") or {}
    seconds, triples = (summary.get("seconds") or {}).get("registry-load"), (summary.get("graphs") or {}).get("registry")
    return seconds, (triples / seconds if seconds and triples else None)


def loading(size: dict) -> list[str]:
    build, raw, oxl, peer = size.get("build") or {}, size.get("raw_load") or {}, size.get("oxigraph_load") or {}, \
        target(size, "rdflib") or {}
    summary = build.get("summary") or {}
    quads, steps = summary.get("quads"), summary.get("seconds") or {}
    load_s, load_rate = registry_load(size)
    rows = [["ours: `repression-kg build --add`, the whole build", fmt(build.get("seconds")),
             fmt(quads / build["seconds"], 0) if quads and build.get("seconds") else "—", mb(build.get("peak_rss")),
             mb(build.get("store_bytes"))],
            ["ours: its registry-load step (bulk load of the registry)", fmt(load_s), fmt(load_rate, 0), "", ""],
            ["raw pyoxigraph `bulk_load` of the same registry files (on disk)", fmt(raw.get("seconds")),
             fmt(raw.get("per_second"), 0), mb(raw.get("peak_rss")), mb(raw.get("store_bytes"))],
            ["`oxigraph load` of the dump (every graph)", fmt(oxl.get("seconds")), fmt(oxl.get("per_second"), 0),
             mb(oxl.get("peak_rss")), mb(oxl.get("store_bytes"))],
            ["rdflib-endpoint: parsing the dump until it answers", fmt(peer.get("load_seconds")),
             fmt(peer.get("load_per_second"), 0), mb(peer.get("load_peak_rss")), "in memory"]]
    lines = table(["loading", "seconds", "quads/s", "peak RSS", "store size"], rows)
    if steps:
        lines += ["Steps of our build (seconds, from build.json): " + ", ".join(f"{k} {v}" for k, v in steps.items())
                  + f"; {fmt(quads)} quads. SHACL validation: {fmt(steps.get('validate'))} s for the curated graph, "
                  f"{fmt(steps.get('registry-check'))} s for the registry"
                  + (f" ({size['persons'] / steps['registry-check']:,.0f} persons/s)." if steps.get("registry-check") else "."),
                  ""]
    if build.get("sidecar_bytes"):
        lines += ["Files derived with the store (in its size above): " +
                  ", ".join(f"`{k}` {mb(v)}" for k, v in build["sidecar_bytes"].items()) + ".", ""]
    return lines


def exports(size: dict) -> list[str]:
    rows = []
    for fmt_name, f in (size.get("export") or {}).items():
        if not isinstance(f, dict):  # stage_seconds, error
            continue
        files = f.get("files") or {}
        own = sum(x["seconds"] for x in files.values())
        rows.append([fmt_name, fmt(own, 2) if files else f"failed (exit {f.get('exit')})", fmt(f.get("seconds"), 2),
                     mb(sum(x["bytes"] for x in files.values())), mb(f.get("peak_rss"))])
    if not rows:
        return []
    from repression_kg.export import DEFAULT_ROLES
    return [f"`repression-kg export --format F` writes the graphs {', '.join(DEFAULT_ROLES)} (its default); "
            f"the registry graph is {'among them' if 'registry' in DEFAULT_ROLES else 'not among them'}.", ""] + \
        table(["export format", "seconds (its own)", "command wall s", "size", "peak RSS"], rows)


def latencies(size: dict) -> list[str]:
    rows = []
    for name in probe_names(size):
        ours, floor, peer = p50(size, "embedded", name), p50(size, "oxigraph", name), p50(size, "rdflib", name)
        rows.append([name] + [cell(size, key, name) for key, _ in TARGETS] + [ratio(ours, floor), ratio(peer, ours)])
    header = ["query (p50 / p95 ms)"] + [t for _, t in TARGETS] + ["ours / floor", "peer / ours"]
    return table(header, rows)


def cached(size: dict) -> list[str]:
    rows = []
    for key, title in TARGETS[:2]:
        for name in ((target(size, key) or {}).get("repeated") or {}):
            cold, hit, floor = p50(size, key, name), p50(size, key, name, "repeated"), p50(size, "oxigraph", name)
            rows.append([title, name, fmt(cold, 2), fmt(hit, 2), ratio(cold, hit), fmt(floor, 2), ratio(floor, hit)])
    return table(["server", "query", "cold p50 ms", "repeated p50 ms", "cold / repeated", "oxigraph serve p50 ms",
                  "oxigraph / repeated"], rows)


def first_requests(size: dict) -> list[str]:
    """The first request of each page after the server started: what a derived table costs to make."""
    rows = []
    for name, *_ in PAGES:
        cells = []
        for key, _ in TARGETS[:2]:
            f = ((target(size, key) or {}).get("cold") or {}).get(name) or {}
            cells.append(fmt(f.get("first_ms")) if f.get("first_ms") else "—")
        rows.append([name, *cells])
    return table(["first request after start (ms)", TARGETS[0][1], TARGETS[1][1]], rows)


def throughputs(size: dict, clients: list[int]) -> list[str]:
    rows = []
    for key, title in TARGETS[:4]:
        t = target(size, key) or {}
        tp = t.get("throughput") or {}
        cells = [fmt(tp.get(str(c), {}).get("per_second"), 0) for c in clients]
        errors = sum(x.get("errors", 0) for x in tp.values())
        cpu = [f"{tp[str(c)]['client_cpu_seconds'] / tp[str(c)]['seconds']:.2f}" for c in clients if str(c) in tp]
        rows.append([title, *cells, errors, "/".join(cpu) or "—"])
        if t.get("throughput_repeated"):
            r = t["throughput_repeated"]
            rows.append([f"{title}, one repeated lookup (cached)"] + ["—" if c != 4 else fmt(r["per_second"], 0)
                                                                      for c in clients] +
                        [r["errors"], f"{r['client_cpu_seconds'] / r['seconds']:.2f}"])
    header = ["lookups/s"] + [f"{c} client{'s' if c > 1 else ''}" for c in clients] + ["errors", "client CPU (cores)"]
    return table(header, rows)


def serving_rss(size: dict) -> list[str]:
    rows = []
    for key, title in TARGETS[:4]:
        t = target(size, key) or {}
        rows.append([title, mb(t.get("serving_peak_rss")), fmt(t.get("ready_seconds"), 1)])
    remote = target(size, "remote") or {}
    if remote.get("oxigraph_peak_rss"):
        rows.append(["(the oxigraph serve behind ours, meanwhile)", mb(remote["oxigraph_peak_rss"]), "—"])
    return table(["server", "peak RSS while serving (server + children)", "seconds to first answer"], rows)


def judged(name: str, value, shown: str, ok) -> list[str]:
    """A row of the targets table: met, missed, or not measured (value None)."""
    return [name, shown, "—" if value is None else ("met" if ok(value) else "**missed**")]


def ratios(size: dict, numerator: tuple[str, str], denominator: tuple[str, str], queries) -> dict[str, float]:
    """p50 ratios per query between two (target, series), where both were measured."""
    pairs = {q: (p50(size, numerator[0], q, numerator[1]), p50(size, denominator[0], q, denominator[1]))
             for q in queries}
    return {q: a / b for q, (a, b) in pairs.items() if a and b}


def targets(size: dict) -> list[str]:
    """The targets of issue 5, judged on this size's figures (they are set for 350,000 persons)."""
    build, raw, ours = size.get("build") or {}, size.get("raw_load") or {}, target(size, "embedded") or {}
    rate = registry_load(size)[1]
    load = rate / raw["per_second"] if rate and raw.get("per_second") else None
    heavy = ratios(size, ("embedded", "cold"), ("oxigraph", "cold"), HEAVY)
    peer = ratios(size, ("rdflib", "cold"), ("embedded", "cold"), probe_names(size))
    rep = ratios(size, ("oxigraph", "cold"), ("embedded", "repeated"), [stem for stem, _ in example_queries()])
    lookups = ((ours.get("throughput") or {}).get("4") or {}).get("per_second")
    page, search, facets = (p50(size, "embedded", q) for q in ("entity page", "search", "facet counts"))
    worst = min(peer, key=peer.get) if peer else None
    rows = [
        judged("load >= 0.9x raw pyoxigraph bulk load", load,
               f"registry-load {fmt(rate, 0)} triples/s = {fmt(load, 2)}x", lambda v: v >= 0.9),
        judged("full import with validation <= 5 min", build.get("seconds"), f"{fmt(build.get('seconds'))} s",
               lambda v: v <= 300),
        judged("peak RSS building <= 8 GB", build.get("peak_rss"), mb(build.get("peak_rss")), lambda v: v <= 8 * 2**30),
        judged("peak RSS serving <= 600 MB (embedded)", ours.get("serving_peak_rss"), mb(ours.get("serving_peak_rss")),
               lambda v: v <= 600 * MB),
        judged("entity page p50 <= 10 ms", page, f"{fmt(page)} ms", lambda v: v <= 10),
        judged("search p50 <= 20 ms", search, f"{fmt(search)} ms", lambda v: v <= 20),
        judged("facet counts p50 <= 50 ms", facets, f"{fmt(facets)} ms", lambda v: v <= 50),
        judged("cold heavy queries <= 1.1x oxigraph serve", max(heavy.values(), default=None),
               ", ".join(f"{q} {r:.2f}x" for q, r in heavy.items()) or "—", lambda v: v <= 1.1),
        judged("lookups >= 3,000/s with 4 clients", lookups, f"{fmt(lookups, 0)}/s", lambda v: v >= 3000),
        judged(">= 10x rdflib-endpoint on every query", peer.get(worst),
               f"min {peer[worst]:.1f}x ({worst})" if worst else "—", lambda v: v >= 10),
        judged("repeated example queries >= 10x faster than oxigraph serve", min(rep.values(), default=None),
               f"min {min(rep.values()):.1f}x, median {statistics.median(rep.values()):.1f}x" if rep else "—",
               lambda v: v >= 10),
    ]
    below = [f"{q} {r:.1f}x" for q, r in sorted(peer.items(), key=lambda kv: kv[1]) if r < 10]
    lines = table(["target (issue 5)", "measured", ""], rows)
    if below:
        lines += ["Queries under 10x rdflib-endpoint: " + ", ".join(below) + ".", ""]
    return lines


def our_defaults() -> str:
    """The settings of `repression-kg serve` that shape the figures, as the code has them now."""
    from repression_kg.backend import worker_count
    from repression_kg.cli import serve
    from repression_kg.web import DEFAULTS

    threads = next(p.default for p in serve.params if p.name == "threads")
    return (f"waitress with {threads} threads; {worker_count()} query worker processes; a "
            f"{DEFAULTS['QUERY_TIMEOUT']:g} s query time limit; a {DEFAULTS['RESULT_CACHE_BYTES'] / 1e6:g} MB result cache")


def section(machine: dict, sizes: dict, args) -> str:
    first = next((s["machine"] for s in sizes.values() if s.get("machine")), None)
    date, command = (first["date"], first["command"]) if first else (time.strftime("%Y-%m-%d"), args.command)
    machine = first or machine  # the machine as it was when the figures were taken
    ended = next((s["load_after"] for s in reversed(list(sizes.values())) if "load_after" in s), os.getloadavg()[0])
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [START, "", "## Registry scale (issue 5)", "",
             f"Measured on {date} with `.venv/bin/python {command}`. Machine: "
             f"{machine['cores']} cores, {machine['ram_bytes'] / 2**30:.1f} GiB RAM, {machine['cpu']}, "
             f"{machine['os']}; {versions}. Load average (1 min) when the run started: "
             f"{machine['load_average'][0]:.2f}, when it ended: {ended:.2f} (other work on the machine "
             "slows every figure; a quiet machine shows about 0).", "",
             "How to read it: see `bench/README.md`. In short: *cold* means the query text is new to every "
             "result cache (a distinct comment per run); the store's and the OS's caches are warm. *Repeated* "
             "sends the same text, which our result cache answers. Pages of our site (entity page, search, facet "
             "counts) are asked of the SPARQL-only servers as the SPARQL their users would run instead. "
             "Throughput clients run in up to 4 processes on the same 2 cores as the server: their CPU is shown. "
             f"Our server runs with its defaults ({machine.get('ours') or our_defaults()}) except `KZR_CLIENT_QUERY_SLOTS=64`, as all the "
             "clients share 127.0.0.1.", ""]
    for n, size in sizes.items():
        lines += [f"### {n:,} persons", ""]
        failed = [f"`{k}`: {v['error'][:400]}" for k, v in size.items() if isinstance(v, dict) and "error" in v]
        stopped = [f"{title}: {t['stopped']}" for key, title in TARGETS if (t := target(size, key)) and t.get("stopped")]
        if failed or stopped:
            lines += ["Not measured or cut short: " + "; ".join(failed + stopped) + ".", ""]
        lines += loading(size) + exports(size)
        lines += ["Latency per query (ms, p50 / p95):", ""] + latencies(size)
        lines += ["The first request of each page after the server started (the search index and the facet tables "
                  "are read once per build; over a remote endpoint they are made from it):", ""] + first_requests(size)
        lines += ["Repeated queries (result cache) against cold ones:", ""] + cached(size)
        lines += ["Requests per second, lookups of distinct persons (cold), keep-alive clients:", ""]
        lines += throughputs(size, args.clients) + serving_rss(size)
        lines += [f"Targets of the issue (set for 350,000 persons) on these {n:,}:", ""] + targets(size)
    return "\n".join(lines + [END]) + "\n"


def replace_between(doc: Path, start: str, end: str, text: str) -> None:
    """Put text between the markers of doc (appended if the markers are not there yet)."""
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    current = current.replace(OLD_PLACEHOLDER, POINTER)
    if start in current and end in current:
        head, rest = current.split(start, 1)
        current = head + text.rstrip("\n") + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(current, encoding="utf-8")


def write(doc: Path, machine: dict, sizes: dict, args) -> None:
    replace_between(doc, START, END, section(machine, sizes, args))


def write_huge(doc: Path, machine: dict, figures: dict) -> None:
    import huge
    replace_between(doc, HUGE_START, HUGE_END, huge.section(machine, figures, HUGE_START, HUGE_END))
