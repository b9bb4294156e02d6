#!/usr/bin/env python3
"""A small stand-in for the Kubernetes API server, for promowatch's tests (no real API server
can run on this machine). It speaks HTTPS with a certificate the test makes, checks the bearer
token, and behaves like the real one where promowatch depends on it:

- GET/PATCH ConfigMaps (JSON merge patch); a patch carrying metadata.resourceVersion that does not
  match the stored one fails with 409 and a real Status body; every write bumps resourceVersion;
  ?dryRun=All validates without storing.
- list pods by label selector, read pod logs (timestamps, sinceTime), delete pods (?dryRun=All
  validates only), patch deployments.
- 401 without the token (or, with --client-ca, a client certificate with CN=promowatch), 403 with a real RBAC message for verbs/resources in --forbid, 404 for
  unknown objects, and on request (POST /_control) slowness, 5xx answers, or a concurrent writer.

usage: fake_apiserver.py --cert C --key K --token T [--state FILE] [--forbid verb:resource ...]
                         [--lifetime SECONDS]
Binds 127.0.0.1 on a free port, prints "PORT <n>" and serves until --lifetime runs out.
"""
import argparse, copy, json, os, re, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

lock = threading.Lock()
state = {"configmaps": {}, "deployments": {}, "pods": [], "logs": {}}
control = {"slow_ms": 0, "fail_next": 0, "fail_code": 503, "conflict_once": False, "requests": []}
args = None


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def status(code, reason, message, name=None, kind=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if name or kind:
        body["details"] = {"name": name or "", "kind": kind or ""}
    return code, body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self, verb):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        raw = self.body()
        if url.path == "/_control":
            with lock:
                if verb == "POST":
                    control.update(json.loads(raw or b"{}"))
                    if "configmaps" in control:
                        state["configmaps"].update(control.pop("configmaps"))
                    if "logs" in control:
                        state["logs"].update(control.pop("logs"))
                return self.reply(200, {"configmaps": state["configmaps"], "deployments": state["deployments"],
                                        "pods": state["pods"], "requests": control["requests"]})
        with lock:
            control["requests"].append({"verb": verb, "path": url.path, "query": url.query,
                                        "content_type": self.headers.get("Content-Type")})
            slow, fail = control["slow_ms"], control["fail_next"]
            if fail:
                control["fail_next"] -= 1
        if slow:
            time.sleep(slow / 1000)
        cert_user = None
        try:
            peer = self.connection.getpeercert()
            if peer:
                cert_user = dict(x[0] for x in peer.get("subject", ())).get("commonName")
        except Exception:
            pass
        if self.headers.get("Authorization") != "Bearer " + args.token and cert_user != "promowatch":
            return self.reply(*status(401, "Unauthorized", "Unauthorized"))
        if fail:
            return self.reply(*status(control["fail_code"], "ServiceUnavailable", "the server is currently unable to handle the request"))
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/(configmaps|pods)(?:/([^/]+))?(/log)?", url.path) or \
            re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/(deployments)/([^/]+)()", url.path)
        if not m:
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        ns, resource, name, log = m.group(1), m.group(2), m.group(3), m.group(4)
        api_verb = {"GET": "list" if name is None else "get", "PATCH": "patch"}.get(verb, verb.lower())
        rbac_resource = resource + ("/log" if log else "")
        if f"{api_verb}:{rbac_resource}" in args.forbid:
            group = "apps" if resource == "deployments" else ""
            what = f'{resource} "{name}"' if name else resource
            return self.reply(*status(403, "Forbidden",
                f'{what} is forbidden: User "system:serviceaccount:{ns}:promowatch" cannot {api_verb} resource '
                f'"{rbac_resource}" in API group "{group}" in the namespace "{ns}"', name, resource))
        key = f"{ns}/{name}"
        with lock:
            if resource == "pods" and not log and name is None:
                sel = (q.get("labelSelector") or [""])[0]
                want = dict(p.split("=", 1) for p in sel.split(",") if "=" in p)
                items = [p for p in state["pods"] if p["metadata"].get("namespace") == ns
                         and all(p["metadata"].get("labels", {}).get(k) == v for k, v in want.items())]
                return self.reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
            if resource == "pods" and log:
                container = (q.get("container") or [""])[0]
                lines = state["logs"].get(f"{key}/{container}") or state["logs"].get(key)
                if lines is None:
                    return self.reply(*status(404, "NotFound", f'pods "{name}" not found', name, "pods"))
                since = (q.get("sinceTime") or [None])[0]
                out = [l for l in lines if since is None or l.split(" ", 1)[0] >= since]
                if (q.get("timestamps") or ["false"])[0] != "true":
                    out = [l.split(" ", 1)[1] if " " in l else l for l in out]
                return self.reply(200, ("\n".join(out) + ("\n" if out else "")).encode(), "text/plain")
            if resource == "pods" and verb == "DELETE":
                pod = next((p for p in state["pods"] if p["metadata"].get("namespace") == ns
                            and p["metadata"].get("name") == name), None)
                if pod is None:
                    return self.reply(*status(404, "NotFound", f'pods "{name}" not found', name, "pods"))
                if (q.get("dryRun") or [""])[0] != "All":
                    state["pods"].remove(pod)
                gone = copy.deepcopy(pod)
                gone["metadata"]["deletionTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                return self.reply(200, gone)
            store = state["configmaps"] if resource == "configmaps" else state["deployments"]
            obj = store.get(key)
            if obj is None:
                return self.reply(*status(404, "NotFound", f'{resource} "{name}" not found', name, resource))
            if verb == "GET":
                return self.reply(200, obj)
            if verb != "PATCH":
                return self.reply(*status(405, "MethodNotAllowed", "method not allowed"))
            if self.headers.get("Content-Type") not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                return self.reply(*status(415, "UnsupportedMediaType", "unsupported patch type"))
            try:
                patch = json.loads(raw)
            except ValueError as e:
                return self.reply(*status(400, "BadRequest", f"invalid JSON patch: {e}"))
            if control["conflict_once"]:
                control["conflict_once"] = False  # someone else wrote in between
                obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
            want_rv = (patch.get("metadata") or {}).get("resourceVersion")
            if want_rv is not None and want_rv != obj["metadata"]["resourceVersion"]:
                return self.reply(*status(409, "Conflict",
                    f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                    'please apply your changes to the latest version and try again', name, resource))
            new = merge_patch(obj, patch)
            new["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
            if (q.get("dryRun") or [""])[0] != "All":
                new["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
                store[key] = new
            return self.reply(200, new)

    def do_GET(self):
        self.handle_any("GET")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--state")
    p.add_argument("--forbid", nargs="*", default=[])
    p.add_argument("--lifetime", type=float, default=120)
    p.add_argument("--client-ca", help="accept client certificates signed by this CA (CN=promowatch authenticates)")
    args = p.parse_args()
    if args.state:
        state.update(json.load(open(args.state)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(args.client_ca)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"PORT {server.server_address[1]}", flush=True)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()  # stops by itself
    server.serve_forever()


if __name__ == "__main__":
    main()
