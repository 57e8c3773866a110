#!/usr/bin/env python3
"""Checks that compose.yml agrees with the workspace and with nats/:

- every container's binary is a [[bin]] of a workspace package, which the
  Dockerfile builds (-p <package>) and copies to /usr/local/bin;
- every host path mounted exists, every config a nats node is started with
  exists under the mounted directory, and its JetStream store (-sd) is a volume;
- NATS_URL names nats nodes of this file on the client port their config
  listens on; published ports and health checks use the configured ports;
- every NATS_USER is a user of nats/auth/users.conf, its NATS_PASSWORD is that
  user's variable (`${<USER>_NATS_PASSWORD:-<dev password>}`, the same
  nats-server reads) with the dev password of nats/auth/dev.env as default,
  and every nats node gets every user's variable the same way;
- every long-running service's health check is `trader health` on
  /health/ready at the port of its TRADER_METRICS_ADDR, and
  deploy/prometheus.yml scrapes it there (third-party images such as
  Prometheus and Grafana only get their mounts checked).

Usage: scripts/check-compose.py [compose.yml]   (exit 1 and a list on mismatch)
"""

import os
import re
import sys
import tomllib

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
errors = []


def fail(msg):
    errors.append(msg)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def workspace_bins():
    """{binary name: package name} of every workspace member."""
    ws = tomllib.loads(read("Cargo.toml"))
    bins = {}
    for member in ws["workspace"]["members"]:
        manifest = tomllib.loads(read(os.path.join(member, "Cargo.toml")))
        package = manifest["package"]["name"]
        for b in manifest.get("bin", []):
            bins[b["name"]] = package
        if not manifest.get("bin") and os.path.exists(os.path.join(ROOT, member, "src/main.rs")):
            bins[package] = package
    return bins


def nats_conf(path):
    """The settings we check of a nats-server config, following includes."""
    text = read(path)
    conf = {}
    for inc in re.findall(r'^\s*include\s+"([^"]+)"', text, re.M):
        conf.update(nats_conf(os.path.normpath(os.path.join(os.path.dirname(path), inc))))
    for key in ("listen", "http"):
        m = re.search(rf"^{key}:\s*(\S+)", text, re.M)
        if m:
            conf[key] = int(m.group(1).rsplit(":", 1)[1])
    return conf


def users_conf():
    """{user: password variable} of nats/auth/users.conf."""
    text = read("nats/auth/users.conf")
    return dict(re.findall(r'user:\s*"([^"]+)"\s*\n\s*password:\s*\$(\w+)', text))


def dev_env():
    out = {}
    for line in read("nats/auth/dev.env").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def env_ref(value):
    """`${VAR:-default}` → (VAR, default)."""
    m = re.fullmatch(r"\$\{(\w+):-([^}]*)\}", str(value))
    return (m.group(1), m.group(2)) if m else (None, None)


def prometheus_targets():
    """{compose service name: port} that deploy/prometheus.yml scrapes."""
    conf = yaml.safe_load(read("deploy/prometheus.yml"))
    out = {}
    for job in conf.get("scrape_configs", []):
        for sd in job.get("dns_sd_configs", []):
            for n in sd.get("names", []):
                out[n] = sd.get("port")
        for sc in job.get("static_configs", []):
            for t in sc.get("targets", []):
                host, port = t.rsplit(":", 1)
                out[host] = int(port)
    return out


def check_health(name, svc, env, dockerfile, scraped):
    """A long-running service: health check on /health/ready at its metrics port, scraped."""
    health = svc.get("healthcheck", {})
    if health.get("disable"):
        return  # a one-shot job or a tool
    addr = str(env.get("TRADER_METRICS_ADDR", ""))
    m = re.fullmatch(r"[\w.\[\]:]*:(\d+)", addr)
    if not m:
        fail(f"{name}: TRADER_METRICS_ADDR {addr!r} is not host:port (health checks need it)")
        return
    port = int(m.group(1))
    test = health.get("test", [])
    url = f"http://127.0.0.1:{port}/health/ready"
    if test[:3] != ["CMD", "trader", "health"] or url not in test:
        fail(f"{name}: health check {test!r} is not `trader health --url {url}`")
    if "/target/release/trader" not in dockerfile:
        fail(f"{name}: the health check runs trader, which the Dockerfile does not copy")
    if scraped.get(name) != port:
        fail(f"{name}: deploy/prometheus.yml does not scrape it on port {port} ({scraped})")


def main():
    compose_path = sys.argv[1] if len(sys.argv) > 1 else "compose.yml"
    compose = yaml.safe_load(read(compose_path))
    dockerfile = read("Dockerfile")
    bins = workspace_bins()
    users = users_conf()
    dev = dev_env()
    services = compose["services"]
    scraped = prometheus_targets()

    if not users:
        fail("nats/auth/users.conf: no users found")
    for user, var in users.items():
        if var not in dev:
            fail(f"nats/auth/dev.env: no {var} for user {user}")

    # nats nodes: {service name: parsed config}
    nodes = {}
    for name, svc in services.items():
        if not str(svc.get("image", "")).startswith("nats:"):
            continue
        cmd = svc.get("command", [])
        if "-c" not in cmd:
            fail(f"{name}: nats node without -c <config>")
            continue
        container_conf = cmd[cmd.index("-c") + 1]
        host_conf = None
        for vol in svc.get("volumes", []):
            src, dst = vol.split(":")[:2]
            if src.startswith(".") and container_conf.startswith(dst.rstrip("/") + "/"):
                host_conf = os.path.normpath(os.path.join(src, container_conf[len(dst.rstrip("/")) + 1:]))
        if not host_conf or not os.path.isfile(os.path.join(ROOT, host_conf)):
            fail(f"{name}: config {container_conf} is not a file of a mounted directory")
            continue
        store = cmd[cmd.index("-sd") + 1] if "-sd" in cmd else None
        if not store or not any(v.split(":")[1] == store and not v.startswith(".") for v in svc.get("volumes", [])):
            fail(f"{name}: JetStream store (-sd {store}) is not on a named volume")
        conf = nats_conf(host_conf)
        nodes[name] = conf
        for port in svc.get("ports", []):
            container_port = int(str(port).split(":")[-1])
            if container_port not in (conf.get("listen"), conf.get("http")):
                fail(f"{name}: publishes {container_port}, its config listens on {conf}")
        health = " ".join(svc.get("healthcheck", {}).get("test", []))
        if f":{conf.get('http')}/healthz" not in health:
            fail(f"{name}: health check {health!r} is not /healthz on the monitoring port {conf.get('http')}")
        env = svc.get("environment", {})
        for user, var in users.items():
            ref, default = env_ref(env.get(var))
            if ref != var or default != dev.get(var):
                fail(f"{name}: {var} must be ${{{var}:-{dev.get(var)}}}, is {env.get(var)!r}")
    if len(nodes) != 3:
        fail(f"expected a 3-node cluster, found nats nodes {sorted(nodes)}")

    for name, svc in services.items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith(".") and not os.path.exists(os.path.join(ROOT, src)):
                fail(f"{name}: mounts {src}, which does not exist")
        if name in nodes:
            continue
        if "build" not in svc and not str(svc.get("image", "")).startswith("trader:"):
            continue  # an observer (Prometheus, Grafana): not one of ours
        build = svc.get("build")
        if build and not os.path.isfile(os.path.join(ROOT, build if isinstance(build, str) else build["context"], "Dockerfile")):
            fail(f"{name}: no Dockerfile in its build context")
        entry = svc.get("entrypoint") or ["trader"]
        binary = entry[0]
        if binary not in bins:
            fail(f"{name}: binary {binary} is not a [[bin]] of the workspace ({sorted(bins)})")
        else:
            if f"-p {bins[binary]}" not in dockerfile:
                fail(f"{name}: the Dockerfile does not build package {bins[binary]}")
            if f"/target/release/{binary}" not in dockerfile:
                fail(f"{name}: the Dockerfile does not copy {binary}")
        args = svc.get("command") or []
        if "--import-dir" in args:
            path = args[args.index("--import-dir") + 1]
            if f"COPY testdata {path}" not in dockerfile:
                fail(f"{name}: --import-dir {path} is not copied into the image")
        env = svc.get("environment", {})
        check_health(name, svc, env, dockerfile, scraped)
        for url in filter(None, str(env.get("NATS_URL", "")).split(",")):
            m = re.fullmatch(r"(?:nats|tls)://([\w-]+):(\d+)", url)
            if not m or m.group(1) not in nodes:
                fail(f"{name}: NATS_URL {url} is not a nats node of this file")
            elif int(m.group(2)) != nodes[m.group(1)].get("listen"):
                fail(f"{name}: NATS_URL {url}: {m.group(1)} listens on {nodes[m.group(1)].get('listen')}")
        if "NATS_URL" not in env:
            fail(f"{name}: no NATS_URL")
        user = env.get("NATS_USER")
        if user not in users:
            fail(f"{name}: NATS_USER {user!r} is not a user of nats/auth/users.conf")
            continue
        ref, default = env_ref(env.get("NATS_PASSWORD"))
        if ref != users[user] or default != dev.get(ref):
            fail(f"{name}: NATS_PASSWORD must be ${{{users[user]}:-{dev.get(users[user])}}}, is {env.get('NATS_PASSWORD')!r}")

    if errors:
        print(f"{compose_path} disagrees with the workspace or nats/:", file=sys.stderr)
        for e in errors:
            print(f"  - {e}", file=sys.stderr)
        sys.exit(1)
    print(f"{compose_path}: {len(services)} services agree with the workspace and nats/")


if __name__ == "__main__":
    main()
