"""Chat speed: the shared client (litellm -> our llama.cpp provider) vs raw llama-cpp-python.

Same GGUF file, same threads, same prompts, temperature 0 (so both generate the same tokens),
interleaved in one run. Also: warm time to first token, cold `portalit chat` from process start,
and the peak memory of a process that chats and embeds. Run: python benchmarks/bench_chat.py
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle works to a child.",
    "List five tips for learning a new language, with one sentence each.",
    "Describe the water cycle in a paragraph.",
]
MAX_TOKENS = 128


def _raw_engine():
    from llama_cpp import Llama

    from portalit import models
    from portalit.engines.llamacpp import default_threads

    path = str(models.get("smollm2-135m").path())
    return Llama(model_path=path, n_ctx=2048, n_threads=default_threads(), n_gpu_layers=0, verbose=False)


def _raw_chat(llm, prompt):
    out = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}],
                                     temperature=0.0, max_tokens=MAX_TOKENS, seed=0)
    return out["usage"]["completion_tokens"]


def _raw_first_token(llm, prompt) -> float:
    start = time.perf_counter()
    stream = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}],
                                        temperature=0.0, max_tokens=16, seed=0, stream=True)
    first = None
    for chunk in stream:
        if first is None and chunk["choices"][0]["delta"].get("content"):
            first = time.perf_counter() - start
    return first


def _ours_first_token(client, prompt) -> float:
    start = time.perf_counter()
    first = None
    for _ in client.stream(prompt, max_tokens=16):
        if first is None:
            first = time.perf_counter() - start
    return first


def throughput(rounds: int) -> dict:
    import portalit

    client = portalit.Client("local-cpu")
    client.chat("Hello", max_tokens=4)  # loads litellm and the model: warm numbers only
    raw = _raw_engine()
    _raw_chat(raw, "Hello")
    ours_t = ours_n = peer_t = peer_n = 0.0
    for r in range(rounds):
        for i, prompt in enumerate(PROMPTS):
            order = ("ours", "peer") if (r + i) % 2 == 0 else ("peer", "ours")  # cancel drift
            for who in order:
                start = time.perf_counter()
                if who == "ours":
                    ours_n += client.chat(prompt, max_tokens=MAX_TOKENS).usage["completion_tokens"]
                    ours_t += time.perf_counter() - start
                else:
                    peer_n += _raw_chat(raw, prompt)
                    peer_t += time.perf_counter() - start
    ttft = [_ours_first_token(client, p) for p in PROMPTS]
    peer_ttft = [_raw_first_token(raw, p) for p in PROMPTS]
    raw.close()
    ours, peer = ours_n / ours_t, peer_n / peer_t
    return {"ours": round(ours, 2), "peer": round(peer, 2), "ratio": round(ours / peer, 3),
            "unit": "tokens/s", "tokens": int(ours_n), "peer_tokens": int(peer_n),
            "ttft_s": round(statistics.median(ttft), 4), "peer_ttft_s": round(statistics.median(peer_ttft), 4)}


def cold_chat_seconds() -> float:
    """Process start to answer for `portalit chat`, litellm import and model load included."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "portalit.cli", "chat", "--max-tokens", "16",
                    "Which city is the capital of France?"], check=True, capture_output=True)
    return round(time.perf_counter() - start, 2)


PEAK_SCRIPT = """
import resource, portalit
c = portalit.client()
c.chat("Which city is the capital of France?", max_tokens=32)
c.embed(["a sentence to embed"] * 64)
c.embed(["king queen"], model="glove-50d")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_memory_mb() -> float:
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], check=True, capture_output=True, text=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def busy(quick: bool = False) -> dict:
    """`--busy`: tokens/s with one core held, the policy against every fixed thread count (busy.py),
    and two chatting processes side by side against one process alone on one thread."""
    import portalit

    from portalit.benchmarks import busy as harness

    client = portalit.Client("local-cpu")
    prompts = PROMPTS[:2] if quick else PROMPTS

    def tokens_per_s() -> float:
        start, tokens = time.perf_counter(), 0
        for prompt in prompts:
            tokens += client.chat(prompt, max_tokens=MAX_TOKENS).usage["completion_tokens"]
        return tokens / (time.perf_counter() - start)

    result = harness.compare(tokens_per_s, rounds=1 if quick else 2)
    result.update(side_by_side(4 if quick else 8))
    result["unit"] = "tokens/s"
    return result


SIDE_SCRIPT = """
import json, sys, time, portalit
client = portalit.Client("local-cpu")
client.chat("Hello", max_tokens=4)
print("ready", flush=True)
sys.stdin.readline()  # both start together
start, tokens = time.perf_counter(), 0
for prompt in json.loads(sys.argv[1]) * int(sys.argv[2]):
    tokens += client.chat(prompt, max_tokens=%d).usage["completion_tokens"]
print(tokens / (time.perf_counter() - start), flush=True)
""" % MAX_TOKENS


def side_by_side(repeats: int) -> dict:
    """Two kernels chatting at once (the policy in each), and one alone on one thread."""
    def start(n_processes: int, env: dict) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-c", SIDE_SCRIPT, json.dumps(PROMPTS[:2]), str(repeats // 2)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
                 for _ in range(n_processes)]
        try:
            for p in procs:
                assert p.stdout.readline().strip() == "ready"
            for p in procs:
                p.stdin.write("go\n")
                p.stdin.flush()
            return [float(p.stdout.readline()) for p in procs]
        finally:
            for p in procs:
                p.kill()
                p.wait()

    env = {k: v for k, v in os.environ.items() if k != "PORTALIT_THREADS"}
    alone = start(1, {**env, "PORTALIT_THREADS": "1"})[0]
    pair = start(2, env)
    return {"two_kernels_each": [round(t, 2) for t in pair], "one_thread_alone": round(alone, 2),
            "two_kernels_ratio": round(min(pair) / alone, 3)}


def run(quick: bool = False, busy_run: bool = False) -> dict:
    if busy_run:
        return busy(quick)
    result = throughput(1 if quick else 3)
    result["cold_chat_s"] = cold_chat_seconds()
    result["peak_rss_mb_chat_embed"] = peak_memory_mb()
    result["threads"] = int(os.environ.get("PORTALIT_THREADS", 0)) or os.cpu_count()
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv, busy_run="--busy" in sys.argv)))
