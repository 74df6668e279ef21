"""Offline guarantee: with a local backend, no socket leaves loopback — import, litellm's price map,
chat, stream, embeddings, analogies and doctor included. Proved in a fresh process whose sockets
refuse (and record) any non-loopback connection or name lookup. The offline variables are removed
first, so the test also proves that portalit sets them itself."""
import os
import subprocess
import sys
from pathlib import Path

GUARD = Path(__file__).parent / "offline_guard"

SCRIPT = r"""
import portalit, socket
from portalit import doctor, geometry
client = portalit.client()
assert "Paris" in client.chat("Which city is the capital of France?").text
assert "".join(client.stream("Say hello.", max_tokens=8))
assert client.embed(["hello"]).shape == (1, 384)
assert client.embed(["hello"], model="glove-50d").shape == (1, 50)
assert geometry.analogy("king", "man", "woman", k=1) is not None
doctor.report()
from portalit.engines import bridge
assert bridge.litellm().model_cost["gpt-4o-mini"]["input_cost_per_token"] > 0  # the bundled price map
# The guard itself works: an outside address is refused and recorded.
try:
    socket.create_connection(("192.0.2.1", 443), timeout=1)
except OSError:
    print("guard-refused")
"""


def test_local_backend_opens_no_socket_beyond_loopback(tmp_path):
    log = tmp_path / "attempts.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("LITELLM_LOCAL_MODEL_COST_MAP", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(PYTHONPATH=os.pathsep.join([str(GUARD), env.get("PYTHONPATH", "")]),
               PORTALIT_GUARD_LOG=str(log), PORTALIT_BACKEND="local-cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "guard-refused" in out.stdout
    attempts = log.read_text().splitlines()
    assert attempts == ["connect ('192.0.2.1', 443)"], attempts
