"""`portalit bench`: each benchmark measures ours and a peer in the same run and reports the ratio.
Behaviour only (keys, consistency); the numbers themselves go in the issue notes, not asserts."""
import json

import pytest

from .conftest import run_cli


@pytest.mark.slow
@pytest.mark.parametrize("what", ["chat", "embed", "analogy"])
def test_bench_reports_ours_peer_and_ratio(what):
    out = run_cli("bench", what, "--quick", "--json", timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    body = json.loads(out.stdout)
    assert body["ours"] > 0 and body["peer"] > 0
    assert body["ratio"] == pytest.approx(body["ours"] / body["peer"], rel=0.02)
    if what == "chat":
        assert body["tokens"] == body["peer_tokens"]  # greedy: both generated the same tokens
        assert body["ttft_s"] > 0 and body["cold_chat_s"] > 0 and body["peak_rss_mb_chat_embed"] > 100
    if what == "embed":
        assert body["max_abs_diff"] < 1e-4  # the same vectors, so the same work


@pytest.mark.slow
def test_bench_class_serves_a_small_class_through_the_gateway_and_the_single_queue():
    from portalit.errors import PortalitError
    from portalit.gateway import upstream

    try:
        upstream.binary()
    except PortalitError as e:
        pytest.skip(str(e))
    out = run_cli("bench", "class", "--quick", "--json", timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    body = json.loads(out.stdout)
    assert body["failures"] == 0 and body["truncated"] == 0, body
    assert body["peer_detail"]["failures"] == 0, body
    assert body["ours"] > 0 and body["peer"] > 0 and body["ratio"] == pytest.approx(body["ours"] / body["peer"], rel=0.02)
    assert 0 < body["p50_ttft_s"] <= body["p95_ttft_s"] and body["p95_total_s"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("what", ["chat", "embed"])
def test_bench_busy_compares_the_policy_with_every_fixed_thread_count_under_a_hog(what):
    out = run_cli("bench", what, "--busy", "--quick", "--json", timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    body = json.loads(out.stdout)
    assert set(body["fixed_busy"]) == {str(n) for n in range(1, body["cores"] + 1)}
    assert body["best_fixed_busy"] == max(body["fixed_busy"].values())
    assert body["policy_ratio"] == pytest.approx(body["busy"] / body["best_fixed_busy"], rel=0.02)
    assert body["quiet_ratio"] == pytest.approx(body["quiet"] / body["quiet_default"], rel=0.02)
    if what == "chat":
        assert len(body["two_kernels_each"]) == 2 and body["one_thread_alone"] > 0


def test_busy_is_refused_where_it_does_not_apply():
    out = run_cli("bench", "class", "--busy")
    assert out.returncode == 2 and "--busy measures chat, embed, analogy; not 'class'" in out.stderr
