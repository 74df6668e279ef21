"""How the gateway counts a streamed answer, and what usage it passes on."""
from portalit.gateway.app import _counted


def test_stream_chunks_are_counted_and_unasked_usage_is_dropped():
    usage = {}
    piece = {"choices": [{"delta": {"content": "Hi"}}]}
    assert _counted(piece, usage, include_usage=False) == piece and usage == {"completion_tokens": 1}
    last = {"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 9, "completion_tokens": 4}}
    assert _counted(last, usage, include_usage=False) == {"choices": last["choices"]}  # usage not asked for: gone
    assert usage == {"prompt_tokens": 9, "completion_tokens": 4, "final": True}
    assert _counted({"choices": [], "usage": {"completion_tokens": 4}}, {}, include_usage=False) is None
    assert _counted(last, {}, include_usage=True) == last
