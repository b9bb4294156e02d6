#!/usr/bin/env python3
"""A small stand-in for the Kubernetes API server, for promowatch's tests (no real API server
can run on this machine). It speaks HTTPS with a certificate the test makes, checks the bearer
token, and behaves like the real one where promowatch depends on it:

- GET/PATCH ConfigMaps (JSON merge patch); a patch carrying metadata.resourceVersion that does not
  match the stored one fails with 409 and a real Status body; every write bumps resourceVersion;
  ?dryRun=All validates without storing.
- list pods by label selector, read pod logs (timestamps, sinceTime), delete pods (?dryRun=All
  validates only), patch deployments, get and patch their scale subresource (replicas, with the
  same resourceVersion conflicts); deployments also take JSON patches (test, add, replace,
  remove), where a patched metadata.resourceVersion is a precondition like in a merge patch.
- list ReplicaSets by label selector (a deployment's revisions), and the discovery documents
  (/api, /apis, /api/v1, /apis/apps/v1) that `kubectl` reads, so the real `kubectl rollout undo`
  can run against this server as an oracle.
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
state = {"configmaps": {}, "deployments": {}, "pods": [], "replicasets": [], "events": [], "logs": {}}

DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap",
         "verbs": ["get", "list", "patch"], "shortNames": ["cm"]},
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": ["get", "list", "delete"], "shortNames": ["po"]},
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event",
         "verbs": ["create", "list"], "shortNames": ["ev"]}]},
    "/apis/apps/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1", "resources": [
        {"name": "deployments", "singularName": "deployment", "namespaced": True, "kind": "Deployment",
         "verbs": ["get", "list", "patch"], "shortNames": ["deploy"]},
        {"name": "deployments/scale", "singularName": "", "namespaced": True, "group": "autoscaling",
         "version": "v1", "kind": "Scale", "verbs": ["get", "patch"]},
        {"name": "replicasets", "singularName": "replicaset", "namespaced": True, "kind": "ReplicaSet",
         "verbs": ["get", "list"], "shortNames": ["rs"]}]},
}


def pointer(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json_patch(doc, ops):
    """RFC 6902 with what the tests need: test, add, replace, remove (ValueError when one fails)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        keys = pointer(op["path"])
        parent = doc
        for k in keys[:-1]:
            parent = parent[int(k)] if isinstance(parent, list) else parent[k]
        last = keys[-1]
        kind = op["op"]
        if kind == "test":
            here = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if here != op["value"]:
                raise ValueError(f"testing value {op['path']} failed")
        elif kind in ("add", "replace"):
            if kind == "replace" and isinstance(parent, dict) and last not in parent:
                raise ValueError(f"replace operation does not apply: doc is missing key: {op['path']}")
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op["value"])
                else:
                    parent.insert(int(last), op["value"]) if kind == "add" else parent.__setitem__(int(last), op["value"])
            else:
                parent[last] = op["value"]
        elif kind == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise ValueError(f"unsupported op {kind}")
    return doc


def selected(objs, ns, selector):
    want = dict(p.split("=", 1) for p in selector.split(",") if "=" in p)
    return [o for o in objs if o["metadata"].get("namespace") == ns
            and all(o["metadata"].get("labels", {}).get(k) == v for k, v in want.items())]
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
                                        "pods": state["pods"], "events": state["events"], "requests": control["requests"]})
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
        if verb == "GET" and url.path in DISCOVERY:
            return self.reply(200, DISCOVERY[url.path])
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/(configmaps|pods|events)(?:/([^/]+))?(/log)?", url.path) or \
            re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/(deployments)/([^/]+)(/scale)?", url.path) or \
            re.fullmatch(r"/apis/apps/v1/namespaces/([^/]+)/(replicasets)()()", url.path)
        if not m:
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        ns, resource, name, log = m.group(1), m.group(2), m.group(3) or None, m.group(4)
        sub = log or ""  # /log of a pod, /scale of a deployment
        api_verb = {"GET": "list" if name is None else "get", "PATCH": "patch", "POST": "create"}.get(verb, verb.lower())
        rbac_resource = resource + sub
        if f"{api_verb}:{rbac_resource}" in args.forbid:
            group = "apps" if resource in ("deployments", "replicasets") else ""
            what = f'{resource} "{name}"' if name else resource
            return self.reply(*status(403, "Forbidden",
                f'{what} is forbidden: User "system:serviceaccount:{ns}:promowatch" cannot {api_verb} resource '
                f'"{rbac_resource}" in API group "{group}" in the namespace "{ns}"', name, resource))
        key = f"{ns}/{name}"
        with lock:
            if resource == "pods" and not log and name is None:
                items = selected(state["pods"], ns, (q.get("labelSelector") or [""])[0])
                return self.reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
            if resource == "events" and verb == "POST" and name is None:
                try:
                    ev = json.loads(raw)
                except ValueError as e:
                    return self.reply(*status(400, "BadRequest", f"invalid Event: {e}"))
                meta = ev.setdefault("metadata", {})
                if not meta.get("name"):
                    meta["name"] = meta.get("generateName", "event.") + format(len(state["events"]) + 1, "x")
                meta["namespace"] = ns
                meta["resourceVersion"] = str(1000 + len(state["events"]))
                if ev.get("involvedObject", {}).get("namespace") not in (None, ns):
                    return self.reply(*status(422, "Invalid", "involvedObject.namespace does not match"))
                state["events"].append(ev)
                return self.reply(201, ev)
            if resource == "events" and verb == "GET" and name is None:
                want = {}
                for part in (q.get("fieldSelector") or [""])[0].split(","):
                    if "=" in part:
                        k, v = part.split("=", 1)
                        want[k] = v
                items = [e for e in state["events"] if e["metadata"].get("namespace") == ns and all(
                    str(e.get("involvedObject", {}).get(k.split(".", 1)[1], "")) == v
                    for k, v in want.items() if k.startswith("involvedObject."))]
                return self.reply(200, {"kind": "EventList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                                        "items": items})
            if resource == "replicasets":
                items = selected(state["replicasets"], ns, (q.get("labelSelector") or [""])[0])
                return self.reply(200, {"kind": "ReplicaSetList", "apiVersion": "apps/v1",
                                        "metadata": {"resourceVersion": "1"}, "items": items})
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
            if sub == "/scale" and obj is not None:
                return self.scale(verb, q, raw, obj, name)
            if obj is None:
                return self.reply(*status(404, "NotFound", f'{resource} "{name}" not found', name, resource))
            if verb == "GET":
                return self.reply(200, obj)
            if verb != "PATCH":
                return self.reply(*status(405, "MethodNotAllowed", "method not allowed"))
            content_type = self.headers.get("Content-Type")
            if content_type not in ("application/merge-patch+json", "application/strategic-merge-patch+json") and \
                    not (content_type == "application/json-patch+json" and resource == "deployments"):
                return self.reply(*status(415, "UnsupportedMediaType", "unsupported patch type"))
            try:
                patch = json.loads(raw)
            except ValueError as e:
                return self.reply(*status(400, "BadRequest", f"invalid JSON patch: {e}"))
            if content_type == "application/json-patch+json":
                # the patched object's resourceVersion is the precondition, as with a merge patch
                try:
                    patched = json_patch(obj, patch)
                except (ValueError, KeyError, IndexError, TypeError) as e:
                    return self.reply(*status(422, "Invalid", f"the server rejected our request due to an error in our request: {e}"))
                patch = {"metadata": {"resourceVersion": patched["metadata"].get("resourceVersion")}}
                obj_for_merge = patched
            else:
                obj_for_merge = None
            if control["conflict_once"]:
                control["conflict_once"] = False  # someone else wrote in between
                obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
            want_rv = (patch.get("metadata") or {}).get("resourceVersion")
            if want_rv is not None and want_rv != obj["metadata"]["resourceVersion"]:
                return self.reply(*status(409, "Conflict",
                    f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                    'please apply your changes to the latest version and try again', name, resource))
            new = obj_for_merge if obj_for_merge is not None else merge_patch(obj, patch)
            new = copy.deepcopy(new)
            new["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
            if (q.get("dryRun") or [""])[0] != "All":
                new["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
                store[key] = new
            return self.reply(200, new)

    def scale(self, verb, q, raw, dep, name):
        """The scale subresource of a deployment (called with the lock held)."""
        def view():
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {"name": name, "namespace": dep["metadata"]["namespace"],
                                 "resourceVersion": dep["metadata"]["resourceVersion"]},
                    "spec": {"replicas": dep["spec"].get("replicas", 1)},
                    "status": {"replicas": dep["spec"].get("replicas", 1)}}
        if verb == "GET":
            return self.reply(200, view())
        if verb != "PATCH":
            return self.reply(*status(405, "MethodNotAllowed", "method not allowed"))
        if self.headers.get("Content-Type") != "application/merge-patch+json":
            return self.reply(*status(415, "UnsupportedMediaType", "unsupported patch type"))
        try:
            patch = json.loads(raw)
        except ValueError as e:
            return self.reply(*status(400, "BadRequest", f"invalid JSON patch: {e}"))
        if control["conflict_once"]:
            control["conflict_once"] = False  # someone else scaled in between
            dep["metadata"]["resourceVersion"] = str(int(dep["metadata"]["resourceVersion"]) + 1)
        want_rv = (patch.get("metadata") or {}).get("resourceVersion")
        if want_rv is not None and want_rv != dep["metadata"]["resourceVersion"]:
            return self.reply(*status(409, "Conflict",
                f'Operation cannot be fulfilled on deployments.apps "{name}": the object has been modified; '
                'please apply your changes to the latest version and try again', name, "deployments"))
        replicas = (patch.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            return self.reply(*status(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value'))
        if (q.get("dryRun") or [""])[0] != "All":
            dep["spec"]["replicas"] = replicas
            dep["metadata"]["resourceVersion"] = str(int(dep["metadata"]["resourceVersion"]) + 1)
        return self.reply(200, view())

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
