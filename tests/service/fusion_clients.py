"""Drives a SandboxFusion-compatible service with the real clients, for tests/service/.

Run with the venv that scripts/service_clients.sh makes (it holds the `sandbox-fusion` PyPI
client; verl's client module is loaded from the file that script took out of PyPI's `verl` wheel).
Prints one JSON document on stdout.

  cases URL           stdin: a JSON list of cases; each through both clients
  many URL [options]  stdin: JSON lines {"id", "code"}; each through verl's check_correctness
                      --threads N, --timeout S (verl's compile and run timeout),
                      --kill-pid PID --kill-after K (SIGKILL PID once K finished)
"""

import argparse
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

HERE = os.path.dirname(os.path.abspath(__file__))


def load_verl(clients_dir):
    path = os.path.join(clients_dir, "verl_sandbox_fusion.py")
    spec = importlib.util.spec_from_file_location("verl_sandbox_fusion", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def through_sandbox_fusion(url, case):
    """SandboxFusion's own SDK: run_code (one attempt), then summary_run_code_result."""
    import pydantic
    from sandbox_fusion import RunCodeRequest, SummaryMapping, run_code, summary_run_code_result

    fields = {
        "code": case["code"],
        "language": case["language"],
        "stdin": case.get("stdin"),
        "compile_timeout": case.get("compile_timeout", 10),
        "run_timeout": case.get("run_timeout", 10),
        "files": case.get("files", {}),
        "fetch_files": case.get("fetch_files", []),
    }
    out = {}
    try:
        request = RunCodeRequest(**fields)
    except pydantic.v1.ValidationError as error:
        # The client refuses names outside its literal; send it anyway to see the server's answer.
        out["client_rejected"] = str(error).splitlines()[0]
        request = RunCodeRequest.construct(**fields)
    try:
        response = run_code(request, endpoint=url, max_attempts=1, client_timeout=60)
    except Exception as error:  # the client raises on HTTP errors and on SandboxError
        out["error"] = str(error)[:500]
        return out
    out["response"] = json.loads(response.json())
    mapping = SummaryMapping(
        CompileFailed="CompileFailed",
        CompileTimeout="CompileTimeout",
        RunFailed="RunFailed",
        RunTimeout="RunTimeout",
    )
    out["summary"] = summary_run_code_result(response, mapping)
    return out


def through_verl(verl, url, case):
    """verl's reward path: check_correctness with one stdin/expected-output case."""
    results, metadata = verl.check_correctness(
        sandbox_fusion_url=f"{url}/run_code",
        in_outs={"inputs": [case.get("stdin")], "outputs": [case.get("expected_output")]},
        generation=case["code"],
        timeout=case.get("timeout", 10),
        memory_limit_mb=case.get("memory_limit_mb", 1024),
        language=case["language"],
    )
    meta = metadata[0] or {}
    return {
        "result": results[0],
        "status": meta.get("status"),
        "exit_code": meta.get("exit_code"),
        "compile_status": meta.get("compile_status"),
        "run_status": meta.get("run_status"),
        "api_request_error": meta.get("api_request_error"),
        "api_response": meta.get("api_response"),
    }


def run_cases(args, verl):
    cases = json.load(sys.stdin)
    out = []
    for case in cases:
        out.append({
            "id": case["id"],
            "sandbox_fusion": through_sandbox_fusion(args.url, case),
            "verl": through_verl(verl, args.url, case),
        })
    return out


def run_many(args, verl):
    programs = [json.loads(line) for line in sys.stdin if line.strip()]
    results = {}
    done = 0
    lock = threading.Lock()
    killed_at = None
    started = time.monotonic()

    def one(program):
        case = {
            "code": program["code"],
            "language": program.get("language", "python"),
            "timeout": args.timeout,
        }
        return program["id"], through_verl(verl, args.url, case)

    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        futures = [pool.submit(one, program) for program in programs]
        for future in as_completed(futures):
            key, result = future.result()
            result.pop("api_response", None)
            with lock:
                results[key] = result
                done += 1
                if args.kill_pid and killed_at is None and done >= args.kill_after:
                    os.kill(args.kill_pid, signal.SIGKILL)
                    killed_at = done
    return {
        "results": results,
        "killed_at": killed_at,
        "seconds": time.monotonic() - started,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["cases", "many"])
    parser.add_argument("url")
    parser.add_argument("--clients", default=os.environ.get("SERVICE_CLIENTS", ""))
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--kill-pid", type=int, default=0)
    parser.add_argument("--kill-after", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=10)
    args = parser.parse_args()
    verl = load_verl(args.clients)
    # verl's client logs every call at INFO and each failure at ERROR; keep stderr for errors.
    import logging
    logging.basicConfig(level=logging.CRITICAL)
    out = run_cases(args, verl) if args.command == "cases" else run_many(args, verl)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
