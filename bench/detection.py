"""Benchmark: what the gate and pluto each catch on the project's corpus of upgrade breaks.

The corpus (``tests/detection_corpus``) holds cases taken from real Kubernetes releases, each
verified against the real apiservers at both of its versions by
``tests/e2e/test_detection_corpus.py``. This script runs

- ``spin-harness gate`` once per hop over every case of that hop (its findings name the manifest
  they are about, so each is credited to its case), with no scenarios: the subject is detection;
- pluto (``spin-harness toolchain ensure-tool pluto``, built from its Go module) on each case's
  manifests, ``detect-files --target-versions k8s=<target>``;

and prints, per case, what was expected and what each tool caught, then the totals. A case
counts as caught when every expected ``kind/severity`` is among the tool's findings for it; a
finding on a control case is noise. Only ``warning`` and ``breaking`` findings count (``info`` is
context a person need not act on). Nothing here is a test; nothing asserts. It exits 1 when the
gate errored on a hop (its cases are then left out of the gate's totals), naming the hop and why.

    python bench/detection.py
    python bench/detection.py --hop 1.36:1.37 --markdown table.md --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.toolchain import goproxy
from harness.toolchain.tools import ensure_tool

# The corpus and its reader live in tests/: importable when run as `python bench/detection.py` too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.detection_corpus.cases import Case, load_cases


@dataclass
class Row:
    case: Case
    source: str
    target: str
    gate: set[str] = field(default_factory=set)
    pluto: set[str] = field(default_factory=set)
    gate_error: str | None = None  # the gate failed on this hop: its findings say nothing about the case

    @property
    def apiserver_answers(self) -> str:
        """What the apiservers do, as the case records it (verified by the e2e test)."""
        parts = []
        for behaviour in self.case.objects.values():
            for side, version in (("source", self.source), ("target", self.target)):
                answer = getattr(behaviour, side)
                if not answer.accepted:
                    parts.append(f"rejected@{version}")
                elif answer.warnings:
                    parts.append(f"warns@{version}")
        return ", ".join(dict.fromkeys(parts)) or "nothing (control)"

    def gate_caught(self) -> bool:
        return set(self.case.expect.gate) <= self.gate if self.case.expect.gate else not self.gate

    def pluto_caught(self) -> bool:
        """pluto's one signal is an apiVersion's status (removed or deprecated): it must be the expected one.

        A break the case expects nothing of pluto for (not an apiVersion change) is one pluto misses.
        """
        if not self.case.expect.pluto and not self.case.is_control:
            return False
        return self.pluto == set(self.case.expect.pluto)


@dataclass
class GateRun:
    """One gate run over the cases of a hop."""

    found: dict[str, set[str]]  # warning/breaking findings by case
    unattributed: list[str]
    seconds: float
    error: str | None  # why the gate failed (exit 2 or harness errors): then no case is scored


def run_gate(cases: list[Case], source: str, target: str, report: Path) -> GateRun:
    """One gate run over the cases of a hop: their findings by case, the unattributed ones, seconds, its error."""
    command = [sys.executable, "-m", "harness.cli", "--quiet", "gate", "--from", source, "--to", target]
    for case in cases:
        command += ["--workloads", str(case.manifests)]
    command += ["--scenarios", "none-*", "--max-outage", "300", "--report", str(report)]
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    summary_path = report / "summary.json"
    if not summary_path.is_file():
        raise SystemExit(f"gate {source}>{target} wrote no summary (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads(summary_path.read_text())
    error = _gate_error(proc.returncode, summary.get("errors") or [], proc.stderr)
    found: dict[str, set[str]] = defaultdict(set)
    unattributed = []
    for finding in summary.get("findings", []):
        if finding["severity"] == "info":  # context, never a verdict: nobody acts on it
            continue
        tag = f"{finding['kind']}/{finding['severity']}"
        owners = {case.name for case in cases if _about(finding, case)}
        for owner in owners:
            found[owner].add(tag)
        if not owners:
            unattributed.append(f"{tag}: {finding['subject']}")
    return GateRun(found, unattributed, seconds, error)


def _gate_error(returncode: int, errors: list[dict[str, Any]], stderr: str) -> str | None:
    """Why a gate run says nothing about its cases, or None when it ran: exit 2 or any harness error."""
    reasons = [f"{e.get('cell')} {e.get('step')}: {e.get('reason')}" for e in errors]
    if returncode == 2 and not reasons:
        reasons = [stderr.strip().splitlines()[-1] if stderr.strip() else "no reason given"]
    if not reasons:
        return None
    return f"exit {returncode}: " + "; ".join(reasons)


def _about(finding: dict[str, Any], case: Case) -> bool:
    """Whether a finding names one of the case's manifests or objects."""
    evidence = finding.get("evidence") or {}
    manifests = [evidence.get("manifest"), *(evidence.get("manifests") or [])]
    if any(m and Path(str(m)).is_relative_to(case.manifests) for m in manifests):
        return True
    objects = [evidence.get("object"), *(evidence.get("objects") or []), finding.get("subject")]
    return any(isinstance(o, str) and f" det-{case.name}/" in o for o in objects)


def run_pluto(pluto: Path, case: Case, target: str) -> set[str]:
    """``removed``/``deprecated`` for each object pluto flags in the case's manifests."""
    proc = subprocess.run(
        [str(pluto), "detect-files", "-d", str(case.manifests), "--target-versions", f"k8s={target}", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    # pluto exits 2 (deprecated), 3 (removed) or 4 (replacement not yet available at the target) when it
    # finds something: only the JSON says what.
    if proc.returncode not in (0, 2, 3, 4):
        raise SystemExit(f"pluto on {case.manifests} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    caught = set()
    for item in json.loads(proc.stdout or "{}").get("items") or []:
        caught.add("removed" if item.get("removed") else "deprecated" if item.get("deprecated") else "listed")
    return caught


def _verdict(right: bool, control: bool, found: str) -> str:
    if control:
        return "clean" if right else f"noise: {found}"
    return f"{'yes' if right else 'no'}: {found}"


def table(rows: list[Row], *, markdown: bool) -> str:
    header = ["case", "hop", "apiservers (verified)", "expected findings", "gate caught", "pluto caught"]
    lines = []
    for row in rows:
        expected = ", ".join(row.case.expect.gate) or "none"
        if row.case.expect.pluto:
            expected += f"; pluto: {', '.join(row.case.expect.pluto)}"
        gate = ", ".join(sorted(row.gate)) or "-"
        gate_verdict = "error" if row.gate_error else _verdict(row.gate_caught(), row.case.is_control, gate)
        pluto = ", ".join(sorted(row.pluto)) or "-"
        lines.append(
            [
                row.case.name,
                f"{row.source}>{row.target}",
                row.apiserver_answers,
                expected,
                gate_verdict,
                _verdict(row.pluto_caught(), row.case.is_control, pluto),
            ]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *lines])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hop", action="append", help="only this hop, as FROM:TO minors (repeatable)")
    parser.add_argument("--markdown", help="also write the table as Markdown here")
    parser.add_argument("--json", help="also write the per-case results as JSON here")
    parser.add_argument("--keep-reports", help="keep the gate reports in this folder")
    args = parser.parse_args()

    cases = load_cases()
    by_hop: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for case in cases:
        by_hop[(case.hop.source, case.hop.target)].append(case)
    if args.hop:
        wanted = {tuple(h.split(":", 1)) for h in args.hop}
        by_hop = defaultdict(list, {k: v for k, v in by_hop.items() if k in wanted})

    pluto = ensure_tool("pluto")
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="detection-bench-") as scratch:
        reports = Path(args.keep_reports) if args.keep_reports else Path(scratch)
        for (source_minor, target_minor), hop_cases in sorted(by_hop.items()):
            source = str(goproxy.resolve(source_minor, field="from", note=lambda _m: None))
            target = str(goproxy.resolve(target_minor, field="to", note=lambda _m: None))
            print(f"gate {source} > {target} over {len(hop_cases)} cases ...", file=sys.stderr, flush=True)
            gate = run_gate(hop_cases, source, target, reports / f"gate-{source}-{target}")
            if gate.error:
                print(f"gate {source}>{target} failed, its cases are not scored: {gate.error}", file=sys.stderr)
                notes.append(f"gate {source}>{target}: ERROR {gate.error}")
            else:
                notes.append(
                    f"gate {source}>{target}: {gate.seconds:.0f}s wall, "
                    f"{len(gate.unattributed)} warning/breaking findings naming no case object"
                    + "".join(f"\n    {u}" for u in gate.unattributed)
                )
            for case in hop_cases:
                found = gate.found.get(case.name, set())
                rows.append(Row(case, source, target, found, run_pluto(pluto, case, target), gate.error))

    rows.sort(key=lambda r: (r.source, r.case.name))
    print(table(rows, markdown=False))
    scored = [r for r in rows if not r.case.is_control]
    controls = [r for r in rows if r.case.is_control]
    gate_scored = [r for r in scored if not r.gate_error]
    gate_controls = [r for r in controls if not r.gate_error]
    errored = sum(1 for r in rows if r.gate_error)
    print(
        f"\ncaught: gate {sum(r.gate_caught() for r in gate_scored)}/{len(gate_scored)}, "
        f"pluto {sum(r.pluto_caught() for r in scored)}/{len(scored)}; "
        f"controls clean: gate {sum(r.gate_caught() for r in gate_controls)}/{len(gate_controls)}, "
        f"pluto {sum(r.pluto_caught() for r in controls)}/{len(controls)}"
        + (f"; gate errors: {errored} cases not scored for the gate" if errored else "")
    )
    print(f"pluto {pluto.parent.name}; " + "; ".join(notes))
    if args.markdown:
        Path(args.markdown).write_text(table(rows, markdown=True) + "\n")
    if args.json:
        results = [
            {
                "case": r.case.name,
                "hop": f"{r.source}>{r.target}",
                "expected": list(r.case.expect.gate),
                "expected_pluto": list(r.case.expect.pluto),
                "gate": sorted(r.gate),
                "gate_caught": "error" if r.gate_error else r.gate_caught(),
                "gate_error": r.gate_error,
                "pluto": sorted(r.pluto),
                "pluto_caught": r.pluto_caught(),
            }
            for r in rows
        ]
        Path(args.json).write_text(json.dumps({"cases": results, "notes": notes}, indent=1) + "\n")
    failed = errored_hops(rows)
    for hop, reason in failed.items():
        print(f"gate errored on hop {hop}: {reason}", file=sys.stderr)
    return 1 if failed else 0


def errored_hops(rows: list[Row]) -> dict[str, str]:
    """Each hop whose gate errored, with why: the totals leave its cases out, so the run fails."""
    return {f"{r.source}>{r.target}": r.gate_error for r in rows if r.gate_error}


if __name__ == "__main__":
    os.environ.setdefault("SPIN_HARNESS_QUIET", "1")
    raise SystemExit(main())
