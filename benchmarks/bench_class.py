"""A class at once: N learners hit the model server together, through the official `openai` SDK.

ours = `portalit gateway serve` (keys, limits, llama-server's parallel slots and continuous
batching); peer = `portalit serve` (one queue), measured in the same run on the same machine.
Each learner sends one chat of up to MAX_TOKENS tokens, streamed or not (alternating), and every
fourth also an embedding. Reports aggregate generated tokens/s, failures, truncated replies (a
stream that ends without a finish, an empty answer), p50/p95 time to first token and p95 time to
completion. Run: python benchmarks/bench_class.py [--learners 50] [--json]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

MAX_TOKENS = 64
PROMPTS = ["Explain what an embedding is.", "Write a haiku about rivers.", "Give three tips for studying.",
           "Describe a cat to someone who has never seen one.", "What is a neural network?"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(command: list[str], url: str, log: Path) -> subprocess.Popen:
    handle = open(log, "w")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.time() + 180
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[3]} exited: {log.read_text()[-2000:]}")
        try:
            opener.open(url, timeout=1).read()
            return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{command[3]} did not start")


def _learner(client, i: int, out: list) -> None:
    stream = i % 2 == 0
    row = {"stream": stream, "ok": False, "tokens": 0, "truncated": False}
    started = time.perf_counter()
    messages = [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
    try:
        if stream:
            finish, text = None, ""
            for chunk in client.chat.completions.create(model="smollm2-135m", messages=messages, max_tokens=MAX_TOKENS,
                                                        temperature=0.7, seed=i, stream=True,
                                                        stream_options={"include_usage": True}):
                for choice in chunk.choices:
                    if choice.delta.content and "ttft" not in row:
                        row["ttft"] = time.perf_counter() - started
                    text += choice.delta.content or ""
                    finish = choice.finish_reason or finish
                if chunk.usage:
                    row["tokens"] = chunk.usage.completion_tokens
            row["truncated"] = finish is None or not text
        else:
            reply = client.chat.completions.create(model="smollm2-135m", messages=messages, max_tokens=MAX_TOKENS,
                                                   temperature=0.7, seed=i)
            row["ttft"] = time.perf_counter() - started
            row["tokens"] = reply.usage.completion_tokens
            row["truncated"] = not reply.choices[0].message.content or reply.choices[0].finish_reason is None
        if i % 4 == 0:
            client.embeddings.create(model="minilm", input=[PROMPTS[i % len(PROMPTS)]])
        row["ok"] = True
    except Exception as e:  # a failure is a result here
        row["error"] = f"{type(e).__name__}: {str(e)[:200]}"
    row["total"] = time.perf_counter() - started
    out.append(row)


def _class(url: str, keys: list[str]) -> dict:
    import openai

    rows: list = []
    clients = [openai.OpenAI(base_url=url, api_key=k, max_retries=0, timeout=600) for k in keys]
    threads = [threading.Thread(target=_learner, args=(c, i, rows)) for i, c in enumerate(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ttft = sorted(r["ttft"] for r in rows if "ttft" in r)
    totals = sorted(r["total"] for r in rows)
    return {"tokens_per_s": sum(r["tokens"] for r in rows) / wall, "seconds": wall,
            "failures": sum(not r["ok"] for r in rows), "truncated": sum(r["truncated"] for r in rows if r["ok"]),
            "p50_ttft_s": _pct(ttft, 50), "p95_ttft_s": _pct(ttft, 95), "p95_total_s": _pct(totals, 95),
            "errors": sorted({r["error"] for r in rows if "error" in r})[:5]}


def _pct(values, p):
    if not values:
        return None
    return round(values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))], 3)


def run(quick: bool = False, learners: int | None = None) -> dict:
    learners = learners or (8 if quick else 50)
    work = Path(tempfile.mkdtemp(prefix="portalit-bench-class-"))
    roster = work / "roster.csv"
    roster.write_text("learner\n" + "".join(f"learner{i:03d}\n" for i in range(learners)))
    python = [sys.executable, "-m", "portalit.cli"]
    subprocess.run(python + ["gateway", "init", str(roster), "--out", str(work / "gw")], check=True,
                   capture_output=True)
    keys = [line.split(",", 1)[1] for line in (work / "gw" / "keys.csv").read_text().split()[1:]]
    results = {}
    for name, command in (("peer", ["serve"]), ("ours", ["gateway", "serve", str(work / "gw"), "--rpm", "1000",
                                                         "--tpm", "10000000", "--parallel", "4"])):
        port = _free_port()
        process = _start(python + command + ["--port", str(port)], f"http://127.0.0.1:{port}/health",
                         work / f"{name}.log")
        try:
            results[name] = _class(f"http://127.0.0.1:{port}/v1", keys)
        finally:
            process.terminate()
            process.wait(timeout=30)
    ours, peer = results["ours"], results["peer"]
    return {"ours": round(ours["tokens_per_s"], 1), "peer": round(peer["tokens_per_s"], 1),
            "ratio": round(ours["tokens_per_s"] / peer["tokens_per_s"], 2) if peer["tokens_per_s"] else None,
            "unit": "generated tokens/s, all learners together", "learners": learners,
            "failures": ours["failures"], "truncated": ours["truncated"], "p50_ttft_s": ours["p50_ttft_s"],
            "p95_ttft_s": ours["p95_ttft_s"], "p95_total_s": ours["p95_total_s"],
            "peer_detail": {k: peer[k] for k in ("failures", "truncated", "p50_ttft_s", "p95_ttft_s", "p95_total_s")},
            "errors": ours["errors"] + peer["errors"], "cpus": os.cpu_count()}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(learners=args.learners)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
