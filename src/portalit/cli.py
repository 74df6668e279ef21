"""The `portalit` command. A contract: scripts and checks rely on its verbs, flags and JSON keys.

User errors exit with code 2 and one line on stderr that names the bad input and the valid
choices; never a bare traceback. Heavy imports happen inside the verb that needs them.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import offline

offline.apply()

from . import backends, models  # noqa: E402
from .errors import PortalitError  # noqa: E402


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + error; we print the one line that matters
        raise PortalitError(f"{self.prog}: {message}")


def build_parser() -> Parser:
    p = Parser(prog="portalit", description="PortaLit: one client over many models, offline first.")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=Parser)

    d = sub.add_parser("doctor", help="backends, embedded models, what is missing and why")
    d.add_argument("--json", action="store_true")

    c = sub.add_parser("chat", help="answer a prompt through the shared client")
    c.add_argument("prompt", nargs="+")
    c.add_argument("--backend", choices=backends.names())
    c.add_argument("--model")
    c.add_argument("--api-base", help="server backend: the OpenAI-compatible URL, e.g. http://127.0.0.1:8000/v1")
    c.add_argument("--system")
    c.add_argument("--temperature", type=float, default=0.0)
    c.add_argument("--max-tokens", type=int, default=256)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true")

    e = sub.add_parser("embed", help="embed texts (or words) as vectors")
    e.add_argument("texts", nargs="+")
    e.add_argument("--model", default=models.DEFAULT_EMBED, choices=models.names("embed"))
    e.add_argument("--backend", choices=backends.names())
    e.add_argument("--api-base")
    e.add_argument("--json", action="store_true")

    a = sub.add_parser("analogy", help="POSITIVE NEGATIVE POSITIVE, e.g. king man woman -> queen")
    a.add_argument("words", nargs=3, metavar="WORD")
    a.add_argument("--k", type=int, default=5)
    a.add_argument("--method", choices=["3cosadd", "3cosmul"], default="3cosadd")
    a.add_argument("--include-inputs", action="store_true", help="let the input words be answers")
    a.add_argument("--json", action="store_true")

    ev = sub.add_parser("eval", help="evaluate on a benchmark: word analogies, or prompt patterns across models")
    ev.add_argument("task", choices=["analogies", "transfer"])
    ev.add_argument("--restrict-vocab", type=int, default=None, help="analogies: only the N most frequent words")
    ev.add_argument("--models", default="smollm2-135m,gemma3-270m",
                    help="transfer: catalogue models and/or cloud ids (e.g. openai/gpt-4o-mini), comma-separated")
    ev.add_argument("--cases", type=int, default=None, help="transfer: only the first N cases of each pattern (a quick look)")
    ev.add_argument("--fresh", action="store_true", help="transfer: measure again, ignoring an earlier measurement")
    ev.add_argument("--json", action="store_true")

    t = sub.add_parser("tune", help="LoRA on the owned model: lesson 09's router, measured against prompting")
    t.add_argument("--epochs", type=int, help="passes over the training data (default: the measured best)")
    t.add_argument("--per-lesson", type=int, metavar="N",
                   help="train on only N examples per lesson (a quick look; the router is not installed)")
    t.add_argument("--fresh", action="store_true", help="tune again, ignoring an earlier matching tune")
    t.add_argument("--json", action="store_true")

    s = sub.add_parser("serve", help="the embedded models as an OpenAI-compatible server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--model", default=models.DEFAULT_CHAT)
    s.add_argument("--key-env", metavar="VAR", help="require the key held in this environment variable (Bearer)")

    b = sub.add_parser("bench", help="our path vs the raw engine, measured in the same run")
    b.add_argument("what", choices=["chat", "embed", "analogy", "class", "course"])
    b.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    b.add_argument("--busy", action="store_true",
                   help="also with one core held by a CPU hog: the thread policy against every fixed thread count")
    b.add_argument("--json", action="store_true")
    g = sub.add_parser("grade", help="autograde every submission of an assignment (nbgrader)")
    g.add_argument("assignment")
    g.add_argument("--workers", type=int, default=2)
    g.add_argument("--unsafe", action="store_true",
                   help="grade without a sandbox where none can be made (only for work you trust)")
    g.add_argument("--json", action="store_true")

    gw = sub.add_parser("gateway", help="one OpenAI-compatible endpoint for a class: keys, limits, batching")
    gws = gw.add_subparsers(dest="gateway_verb", required=True, parser_class=Parser)
    gi = gws.add_parser("init", help="a key per learner of ROSTER.csv (column 'learner'), into DIR/keys.csv")
    gi.add_argument("roster", metavar="ROSTER.csv")
    gi.add_argument("--out", required=True, metavar="DIR")
    gi.add_argument("--json", action="store_true")
    gs = gws.add_parser("serve", help="serve the class's gateway from DIR")
    gs.add_argument("directory", metavar="DIR")
    gs.add_argument("--host", default="127.0.0.1")
    gs.add_argument("--port", type=int, default=8000)
    gs.add_argument("--rpm", type=int, default=30, help="requests per minute, per learner")
    gs.add_argument("--tpm", type=int, default=20_000, help="tokens per minute, per learner")
    gs.add_argument("--parallel", type=int, default=2, help="requests at once, per learner")
    gs.add_argument("--daily-tokens", type=int, default=200_000, help="tokens per day (UTC), per learner")
    gs.add_argument("--slots", type=int, default=8, help="llama-server's parallel slots (shared by the class)")
    gs.add_argument("--cloud-model", help="also serve this litellm model id, with the instructor's key from the environment")
    gs.add_argument("--cloud-api-base", help="the cloud model's OpenAI-compatible URL, if not the provider's default")
    gu = gws.add_parser("usage", help="what each learner used today")
    gu.add_argument("directory", metavar="DIR")
    gu.add_argument("--json", action="store_true")

    h = sub.add_parser("hub", help="a class on JupyterHub on this machine")
    hub = h.add_subparsers(dest="hub_verb", required=True, parser_class=Parser)
    hi = hub.add_parser("init", help="write DIR/jupyterhub_config.py, the course folder, the exchange; create accounts as root")
    hi.add_argument("directory", metavar="DIR")
    hi.add_argument("--learners", required=True, help="NAME,NAME,... or a roster .csv (learner, first_name, last_name, email, lms_id)")
    hi.add_argument("--instructors", required=True, help="NAME,NAME,...")
    hi.add_argument("--port", type=int, default=8080, help="where the hub serves, on 127.0.0.1 (8000 is left to portalit serve)")
    hi.add_argument("--hub-port", type=int, help="the hub's internal port (default: PORT+1)")
    hi.add_argument("--proxy-port", type=int, help="the proxy's API port (default: PORT+2)")
    hi.add_argument("--course", default="portalit", help="the nbgrader course id")
    hi.add_argument("--auth", default="pam", help="pam (Unix passwords) or dummy (one shared password: trials and tests)")
    hi.add_argument("--gateway", metavar="GATEWAY_DIR", help="hand each learner their key of this class gateway")
    hi.add_argument("--gateway-url", help="where learners reach the gateway, e.g. http://127.0.0.1:8000/v1")
    hi.add_argument("--json", action="store_true")
    return p


def _emit(payload: dict, as_json: bool, text: str) -> None:
    print(json.dumps(payload) if as_json else text)


def cmd_doctor(args) -> int:
    from .doctor import report, render

    data = report()
    print(json.dumps(data) if args.json else render(data))
    return 0


def _client(args, model=None):
    from .session import Client

    options = {"api_base": args.api_base} if getattr(args, "api_base", None) else {}
    backend = args.backend
    if options:  # --api-base alone picks the backend that takes it
        takers = backends.taking("api_base")
        backend = backend or takers[0]
        if backend not in takers:
            raise PortalitError(f"--api-base is for --backend {' or '.join(takers)}, not {backend!r}")
    return Client(backend, model, **options)


def cmd_chat(args) -> int:
    client = _client(args, args.model)
    result = client.chat(" ".join(args.prompt), system=args.system, temperature=args.temperature,
                         max_tokens=args.max_tokens, seed=args.seed)
    _emit(result.to_dict(), args.json, result.text)
    return 0


def cmd_embed(args) -> int:
    vectors = _client(args).embed(args.texts, model=args.model)
    payload = {"model": args.model, "dim": int(vectors.shape[1]), "vectors": vectors.round(6).tolist()}
    lines = [f"{args.model}: {len(vectors)} x {vectors.shape[1]}"]
    for text, v in zip(args.texts, vectors):
        lines.append(f"{text!r}: [{', '.join(f'{x:.4f}' for x in v[:6])}, ...]")
    _emit(payload, args.json, "\n".join(lines))
    return 0


def cmd_analogy(args) -> int:
    from . import geometry

    if args.k < 1:
        raise PortalitError(f"--k {args.k} must be at least 1")
    a, b, c = args.words
    result = geometry.analogy(a, b, c, k=args.k, method=args.method, exclude_inputs=not args.include_inputs)
    payload = geometry.analogy_payload(result)
    lines = [f"{payload['query']}  ({args.method}, inputs {'included' if args.include_inputs else 'excluded'})"]
    lines += [f"  {r['word']:<15} {r['score']:.3f}" for r in payload["results"]]
    if payload.get("only_b"):
        lines.append(f"  only-b baseline (nearest to {c!r} alone): {payload['only_b'][0]['word']}")
    _emit(payload, args.json, "\n".join(lines))
    return 0


def cmd_eval(args) -> int:
    if args.task == "transfer":
        return _eval_transfer(args)
    from . import geometry

    if args.restrict_vocab is not None and args.restrict_vocab < 1:
        raise PortalitError(f"--restrict-vocab {args.restrict_vocab} must be a positive number of words")
    result = geometry.evaluate_analogies(restrict_vocab=args.restrict_vocab)
    text = (f"Google analogies on glove-50d: {result['answered']}/{result['questions']} answered, "
            f"accuracy {result['accuracy']:.3f}, {result['seconds']:.1f} s")
    _emit(result, args.json, text)
    return 0


def _eval_transfer(args) -> int:
    from . import transfer

    if args.cases is not None and args.cases < 2:
        raise PortalitError(f"--cases {args.cases} must be at least 2 (an interval needs cases to resample)")
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    result = transfer.measure(args.models, limit=args.cases, cache=not args.fresh, progress=progress)
    text = transfer.render(result)
    if result.get("cached"):
        text += f"\n(measured earlier in {result['seconds']:.0f} s: {result['cached']}; --fresh measures again)"
    _emit(result, args.json, text)
    return 0


def cmd_tune(args) -> int:
    from dataclasses import replace

    from .tune import compare, data, train

    settings = train.Settings()
    if args.epochs is not None:
        if not 1 <= args.epochs <= 50:
            raise PortalitError(f"--epochs {args.epochs} must be between 1 and 50")
        settings = replace(settings, epochs=args.epochs)
    most = min(sum(e.lesson == k for e in data.load("train")) for k in data.LESSONS)
    if args.per_lesson is not None and not 1 <= args.per_lesson <= most:
        raise PortalitError(f"--per-lesson {args.per_lesson} must be between 1 and {most} "
                            "(the fewest training questions any lesson has)")
    result = None if args.fresh or args.per_lesson is not None else compare.cached(settings)
    if result is None:
        progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        result = compare.run(settings, per_lesson=args.per_lesson, install=args.per_lesson is None,
                             progress=progress)
    text = compare.render(result)
    if result.get("cached"):
        text += f"\n(tuned earlier, {result['measured']}: {result['cached']}; --fresh tunes again)"
    _emit(result, args.json, text)
    return 0


def cmd_serve(args) -> int:
    from . import serve

    if not 0 <= args.port <= 65535:
        raise PortalitError(f"--port {args.port} is not a port number; choose 0-65535 (0 picks a free one)")
    serve.run(args.host, args.port, args.model, args.key_env)
    return 0


def cmd_bench(args) -> int:
    from . import bench

    result = bench.run(args.what, quick=args.quick, busy=args.busy)
    text = "\n".join(f"{k}: {v}" for k, v in result.items())
    _emit(result, args.json, text)
    return 0


def cmd_grade(args) -> int:
    from . import autograder

    if args.workers < 1:
        raise PortalitError(f"--workers {args.workers} must be at least 1")
    result = autograder.grade_assignment(args.assignment, workers=args.workers, unsafe=args.unsafe)
    _emit(result, args.json, autograder.render(result))
    return 0


def cmd_gateway(args) -> int:
    from . import gateway

    if args.gateway_verb == "init":
        result = gateway.init_gateway(args.roster, args.out)
        _emit(result, args.json, f"{result['learners']} keys in {result['keys']} (only you can read it: hand "
                                 "each learner theirs; they are not stored anywhere else)")
    elif args.gateway_verb == "usage":
        result = gateway.usage(args.directory)
        _emit(result, args.json, gateway.render_usage(result))
    else:
        limits = gateway.Limits(args.rpm, args.tpm, args.parallel, args.daily_tokens)
        if args.slots < 1:
            raise PortalitError(f"--slots {args.slots} must be at least 1")
        cloud = {"model": args.cloud_model, "api_base": args.cloud_api_base} if args.cloud_model else None
        if args.cloud_api_base and not args.cloud_model:
            raise PortalitError("--cloud-api-base needs --cloud-model")
        gateway.serve(args.directory, args.host, args.port, limits, args.slots, cloud)
    return 0


def cmd_hub(args) -> int:
    from . import hub

    result = hub.init_class(args.directory, args.learners, args.instructors, port=args.port, hub_port=args.hub_port,
                            proxy_port=args.proxy_port, course_id=args.course, auth=args.auth,
                            gateway=args.gateway, gateway_url=args.gateway_url)
    _emit(result, args.json, hub.render(result))
    return 0


VERBS = {"doctor": cmd_doctor, "chat": cmd_chat, "embed": cmd_embed, "analogy": cmd_analogy,
         "eval": cmd_eval, "tune": cmd_tune, "serve": cmd_serve, "bench": cmd_bench,
         "grade": cmd_grade, "hub": cmd_hub, "gateway": cmd_gateway}


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return VERBS[args.verb](args)
    except PortalitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
