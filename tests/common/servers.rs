//! Throwaway Redis deployments for the store tests, started by the tests
//! on free loopback ports in a temporary directory and killed when
//! dropped (even when the test fails):
//!
//! - [`Kind::Plain`]: one `redis-server`, plain TCP, no persistence;
//! - [`Kind::Tls`]: one `redis-server` that speaks only TLS and requires a
//!   client certificate; a CA, a server and a client certificate are made
//!   with the `openssl` command at start, and the store trusts that CA;
//! - [`Kind::Cluster`]: three `redis-server --cluster-enabled yes` masters
//!   joined by `redis-cli --cluster create`;
//! - [`Kind::TlsCluster`]: the same over TLS only (clients and the cluster
//!   bus), client certificates required.
//!
//! A missing `redis-server`, `redis-cli` or `openssl` fails the test with
//! what to install; nothing is skipped. `QCAPTCHA_REDIS_SERVER` and
//! `QCAPTCHA_REDIS_CLI` may point at other binaries.

#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[cfg(feature = "redis-tls")]
use qcaptcha::store::RedisTls;
use qcaptcha::RedisStore;
use redis::ConnectionLike;

use crate::common::HARNESS_WAIT;

/// How long a Cluster node may miss pings before the others mark it
/// failed (and the whole cluster answers CLUSTERDOWN): long enough that a
/// node busy with 64 TLS handshakes on a loaded machine is not taken for
/// dead (3 s was not, at a load average of 24 on 2 cores), short enough
/// that the failover tests see a killed master go within seconds.
pub const CLUSTER_NODE_TIMEOUT_MS: u64 = 15_000;

/// Which deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One plain-TCP server.
    Plain,
    /// One TLS-only server requiring client certificates.
    Tls,
    /// Three masters in a Redis Cluster.
    Cluster,
    /// Three masters in a Redis Cluster that speaks only TLS.
    TlsCluster,
}

impl Kind {
    fn tls(self) -> bool {
        matches!(self, Kind::Tls | Kind::TlsCluster)
    }

    fn cluster(self) -> bool {
        matches!(self, Kind::Cluster | Kind::TlsCluster)
    }
}

/// Persistence of the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing is kept: a restarted server is empty.
    None,
    /// AOF with `appendfsync always`: a killed server restarts with every
    /// acknowledged write.
    Aof,
}

fn binary(var: &str, name: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Runs a command to completion, failing the test with its output (or
/// with what to install when it is missing).
fn run(cmd: &mut Command, package: &str) -> String {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{program}` not found: these tests need it. Install it with \
             `apt-get install {package}` (scripts/test does)"
        ),
        Err(e) => panic!("cannot run `{program}`: {e}"),
    };
    assert!(
        out.status.success(),
        "`{cmd:?}` failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A loopback port nothing listens on (another process may still take it
/// before we bind; callers retry).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system's temporary directory.
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "qcaptcha-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        TempDir(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The certificates of a TLS deployment, PEM, made by `openssl`.
pub struct Certs {
    /// The CA that signed the others.
    pub ca: Vec<u8>,
    /// The client's certificate and key (the server requires them).
    pub client_cert: Vec<u8>,
    /// The client's private key.
    pub client_key: Vec<u8>,
    /// Files for the server: CA, certificate, key.
    files: [PathBuf; 3],
    /// Files for redis-cli: client certificate and key.
    client_files: [PathBuf; 2],
}

impl Certs {
    /// A fresh CA (P-256), a server certificate for 127.0.0.1 and
    /// localhost and a client certificate, written to `dir`.
    pub fn make(dir: &Path) -> Certs {
        let p = |name: &str| dir.join(name);
        let openssl = || {
            let mut cmd = Command::new("openssl");
            cmd.current_dir(dir);
            cmd
        };
        let key = |name: &str| {
            run(
                openssl().args([
                    "ecparam",
                    "-name",
                    "prime256v1",
                    "-genkey",
                    "-noout",
                    "-out",
                    name,
                ]),
                "openssl",
            );
        };
        key("ca.key");
        run(
            openssl().args([
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=qcaptcha test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]),
            "openssl",
        );
        for (name, ext) in [
            (
                "server",
                // clientAuth too: cluster nodes present it to each other.
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth,clientAuth\n\
                 subjectAltName=IP:127.0.0.1,DNS:localhost\n",
            ),
            (
                "client",
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=clientAuth\n",
            ),
        ] {
            key(&format!("{name}.key"));
            std::fs::write(p(&format!("{name}.ext")), ext).unwrap();
            run(
                openssl().args([
                    "req",
                    "-new",
                    "-key",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    &format!("/CN=qcaptcha test {name}"),
                ]),
                "openssl",
            );
            run(
                openssl().args([
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &format!("{name}.crt"),
                    "-days",
                    "2",
                    "-extfile",
                    &format!("{name}.ext"),
                ]),
                "openssl",
            );
        }
        let read = |name: &str| std::fs::read(p(name)).unwrap();
        Certs {
            ca: read("ca.crt"),
            client_cert: read("client.crt"),
            client_key: read("client.key"),
            files: [p("ca.crt"), p("server.crt"), p("server.key")],
            client_files: [p("client.crt"), p("client.key")],
        }
    }

    /// The same for the redis crate's own clients.
    #[cfg(feature = "redis-tls")]
    fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: Some(redis::ClientTlsConfig {
                client_cert: self.client_cert.clone(),
                client_key: self.client_key.clone(),
            }),
            root_cert: Some(self.ca.clone()),
        }
    }

    /// The store's TLS settings: trust the CA, present the client cert.
    #[cfg(feature = "redis-tls")]
    pub fn tls(&self) -> RedisTls {
        RedisTls::new()
            .ca_pem(self.ca.clone())
            .client_auth(self.client_cert.clone(), self.client_key.clone())
    }
}

/// One `redis-server` process on a loopback port.
pub struct Process {
    /// The client port (TLS-only for a TLS server).
    pub port: u16,
    /// The cluster bus port (cluster nodes only).
    bus_port: Option<u16>,
    dir: PathBuf,
    tls: Option<[PathBuf; 3]>,
    persistence: Persistence,
    child: Option<Child>,
}

impl Process {
    fn new(
        dir: PathBuf,
        cluster: bool,
        tls: Option<[PathBuf; 3]>,
        persistence: Persistence,
    ) -> Process {
        std::fs::create_dir_all(&dir).unwrap();
        Process {
            port: free_port(),
            bus_port: cluster.then(free_port),
            dir,
            tls,
            persistence,
            child: None,
        }
    }

    /// Starts the server and waits until it answers; false if it exited
    /// (port taken) or did not answer within 10 s.
    fn spawn_and_wait(&mut self) -> bool {
        let bin = binary("QCAPTCHA_REDIS_SERVER", "redis-server");
        let mut cmd = Command::new(&bin);
        cmd.args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--daemonize", "no"])
            .args(["--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir);
        match self.persistence {
            Persistence::None => cmd.args(["--appendonly", "no"]),
            Persistence::Aof => cmd.args(["--appendonly", "yes", "--appendfsync", "always"]),
        };
        match &self.tls {
            None => cmd.args(["--port", &self.port.to_string()]),
            Some([ca, cert, key]) => cmd
                .args(["--port", "0", "--tls-port", &self.port.to_string()])
                .arg("--tls-ca-cert-file")
                .arg(ca)
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key)
                .args(["--tls-auth-clients", "yes"])
                .args([
                    "--tls-cluster",
                    if self.bus_port.is_some() { "yes" } else { "no" },
                ]),
        };
        if let Some(bus) = self.bus_port {
            cmd.args(["--cluster-enabled", "yes"])
                .args(["--cluster-port", &bus.to_string()])
                .args(["--cluster-config-file", "nodes.conf"])
                .args([
                    "--cluster-node-timeout",
                    &CLUSTER_NODE_TIMEOUT_MS.to_string(),
                ]);
        }
        let log = std::fs::File::create(self.dir.join("stderr.log")).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`{}` not found: these tests need a real Redis server. Install it with \
                 `apt-get install redis-server` (scripts/test does), or point \
                 QCAPTCHA_REDIS_SERVER at one",
                bin.display()
            ),
            Err(e) => panic!("cannot start `{}`: {e}", bin.display()),
        };
        self.child = Some(child);
        let deadline = Instant::now() + HARNESS_WAIT;
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None; // exited: port taken or bad arguments
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        false
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.join("stderr.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Kills the server (SIGKILL, like a crash) and waits until the port
    /// refuses connections.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + HARNESS_WAIT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts the server again on the same port and directory (with AOF
    /// it reloads its data; a cluster node reloads `nodes.conf`).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill() first");
        assert!(
            self.spawn_and_wait(),
            "redis-server did not restart on port {}: {}",
            self.port,
            self.log()
        );
    }

    /// Sends SIGSTOP (`true`) or SIGCONT (`false`): a frozen server keeps
    /// its connections open but answers nothing.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        run(Command::new("kill").args([signal, &pid]), "procps");
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL also ends a stopped process
            let _ = child.wait();
        }
    }
}

/// A running deployment of one [`Kind`].
pub struct Redis {
    /// Which kind.
    pub kind: Kind,
    /// Its servers: one, or the three cluster masters.
    pub nodes: Vec<Process>,
    certs: Option<Certs>,
    // Last, so that the processes are gone before it is removed.
    _dir: TempDir,
}

impl Redis {
    /// The certificates of a TLS deployment.
    pub fn certs(&self) -> &Certs {
        self.certs.as_ref().expect("a TLS deployment")
    }

    /// Starts a deployment without persistence.
    pub fn start(kind: Kind) -> Redis {
        Redis::start_with(kind, Persistence::None)
    }

    /// Starts a deployment with the given persistence.
    pub fn start_with(kind: Kind, persistence: Persistence) -> Redis {
        Redis::start_deployment(kind, persistence, 0)
    }

    /// Starts a three-master Cluster in which every master has one replica
    /// (nodes 0..3 are the masters, 3..6 the replicas).
    pub fn start_cluster_with_replicas(persistence: Persistence) -> Redis {
        Redis::start_deployment(Kind::Cluster, persistence, 1)
    }

    fn start_deployment(kind: Kind, persistence: Persistence, replicas: usize) -> Redis {
        let dir = TempDir::new(&format!("{kind:?}").to_lowercase());
        let certs = kind.tls().then(|| Certs::make(dir.path()));
        let count = if kind.cluster() {
            3 * (1 + replicas)
        } else {
            1
        };
        let mut nodes = Vec::new();
        for i in 0..count {
            // Another process may take a port between probe and bind: retry.
            let node = (0..5)
                .find_map(|_| {
                    let mut node = Process::new(
                        dir.path().join(format!("node{i}")),
                        kind.cluster(),
                        certs.as_ref().map(|c| c.files.clone()),
                        persistence,
                    );
                    node.spawn_and_wait().then_some(node)
                })
                .expect("redis-server did not start on any of 5 free ports");
            nodes.push(node);
        }
        let redis = Redis {
            kind,
            nodes,
            certs,
            _dir: dir,
        };
        if kind.cluster() {
            let mut cli = Command::new(binary("QCAPTCHA_REDIS_CLI", "redis-cli"));
            if let Some(certs) = &redis.certs {
                cli.arg("--tls")
                    .arg("--cacert")
                    .arg(&certs.files[0])
                    .arg("--cert")
                    .arg(&certs.client_files[0])
                    .arg("--key")
                    .arg(&certs.client_files[1]);
            }
            cli.arg("--cluster").arg("create");
            for node in &redis.nodes {
                cli.arg(node.addr());
            }
            cli.args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"]);
            run(&mut cli, "redis-tools");
        }
        redis.wait_until_ready();
        redis
    }

    /// Waits until every server answers PING (a cluster: until every node
    /// reports `cluster_state:ok`), at most [`HARNESS_WAIT`].
    pub fn wait_until_ready(&self) {
        let deadline = Instant::now() + HARNESS_WAIT;
        loop {
            let ready = self.nodes.iter().all(|node| {
                let Ok(mut con) = self.node_connection(node) else {
                    return false;
                };
                if self.kind.cluster() {
                    redis::cmd("CLUSTER")
                        .arg("INFO")
                        .query::<String>(&mut con)
                        .is_ok_and(|info| info.contains("cluster_state:ok"))
                } else {
                    redis::cmd("PING")
                        .query::<String>(&mut con)
                        .is_ok_and(|pong| pong == "PONG")
                }
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?} Redis not ready after {HARNESS_WAIT:?}; logs:\n{}",
                self.kind,
                self.nodes
                    .iter()
                    .map(Process::log)
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url_of(&self, node: &Process) -> String {
        let scheme = if self.kind.tls() { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/", node.port)
    }

    /// The URLs of the servers (`rediss://` for TLS).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| self.url_of(n)).collect()
    }

    /// A new store on this deployment, as a node of the service opens it,
    /// with [`HARNESS_WAIT`] as its timeout: CI machines run many builds at
    /// once, and a TLS handshake there (up to 64 threads connecting at
    /// once) took longer than 5 s at a load average of 48 on 2 cores.
    /// Tests of timeouts, and tests that stop a server, set their own.
    pub fn store(&self) -> RedisStore {
        self.store_with_default_timeout().with_timeout(HARNESS_WAIT)
    }

    /// A new store with the library's default timeout (500 ms).
    pub fn store_with_default_timeout(&self) -> RedisStore {
        match self.kind {
            Kind::Plain => RedisStore::open(&self.urls()[0]).unwrap(),
            #[cfg(feature = "redis-tls")]
            Kind::Tls => {
                RedisStore::open_tls(&self.urls()[0], &self.certs.as_ref().unwrap().tls()).unwrap()
            }
            #[cfg(feature = "redis-tls")]
            Kind::TlsCluster => {
                RedisStore::open_cluster_tls(self.urls(), &self.certs().tls()).unwrap()
            }
            #[cfg(not(feature = "redis-tls"))]
            Kind::Tls | Kind::TlsCluster => {
                panic!("the TLS tests need the `redis-tls` feature")
            }
            Kind::Cluster => RedisStore::open_cluster(self.urls()).unwrap(),
        }
    }

    /// A direct connection to one server, for inspection, with
    /// [`HARNESS_WAIT`] to connect (a TLS handshake on a loaded machine
    /// once took longer than the 500 ms this had).
    fn node_connection(&self, node: &Process) -> redis::RedisResult<redis::Connection> {
        let url = self.url_of(node);
        let client = match &self.certs {
            #[cfg(feature = "redis-tls")]
            Some(certs) => redis::Client::build_with_tls(url.as_str(), certs.certificates())?,
            _ => redis::Client::open(url.as_str())?,
        };
        client.get_connection_with_timeout(HARNESS_WAIT)
    }

    /// A direct connection for inspecting keys: to the server, or a
    /// cluster connection that routes each key to its master (`KEYS` asks
    /// every master).
    pub fn admin(&self) -> Box<dyn ConnectionLike> {
        if !self.kind.cluster() {
            return Box::new(
                self.node_connection(&self.nodes[0])
                    .expect("admin connection"),
            );
        }
        #[allow(unused_mut)]
        let mut builder = redis::cluster::ClusterClientBuilder::new(self.urls())
            .connection_timeout(HARNESS_WAIT)
            .response_timeout(HARNESS_WAIT);
        #[cfg(feature = "redis-tls")]
        if let Some(certs) = &self.certs {
            builder = builder.certs(certs.certificates());
        }
        Box::new(
            builder
                .build()
                .unwrap()
                .get_connection()
                .expect("admin cluster connection"),
        )
    }

    /// Kills every server (SIGKILL).
    pub fn stop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }

    /// Starts every server again on its port and waits until the
    /// deployment is ready (a cluster re-forms from its `nodes.conf`).
    pub fn restart(&mut self) {
        for node in &mut self.nodes {
            node.restart();
        }
        self.wait_until_ready();
    }

    /// A node that has not been killed.
    fn running_node(&self) -> &Process {
        self.nodes
            .iter()
            .find(|n| n.child.is_some())
            .expect("a running node")
    }

    /// Waits until every replica of every running master has received
    /// all that its master wrote (replication offsets equal), at most
    /// [`HARNESS_WAIT`].
    pub fn wait_for_replication(&self) {
        let deadline = Instant::now() + HARNESS_WAIT;
        for node in self.nodes.iter().filter(|n| n.child.is_some()) {
            loop {
                let mut con = self.node_connection(node).unwrap();
                let info: String = redis::cmd("INFO")
                    .arg("replication")
                    .query(&mut con)
                    .unwrap();
                let field = |name: &str| {
                    info.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::trim)
                        .unwrap_or("")
                        .to_owned()
                };
                if field("role:") != "master" {
                    break;
                }
                let offset = field("master_repl_offset:");
                let replicas: Vec<&str> = info.lines().filter(|l| l.starts_with("slave")).collect();
                let synced = replicas
                    .iter()
                    .all(|l| l.contains(&format!("offset={offset},")));
                if synced {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "replicas never caught up: {info}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Waits until cluster node `i` reports `cluster_state:STATE` (`ok` or
    /// `fail`), at most [`HARNESS_WAIT`].
    pub fn wait_for_cluster_state(&self, i: usize, state: &str) {
        let deadline = Instant::now() + HARNESS_WAIT;
        let want = format!("cluster_state:{state}");
        loop {
            let info = self
                .node_connection(&self.nodes[i])
                .and_then(|mut con| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut con))
                .unwrap_or_default();
            if info.contains(&want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {i} never reported {want}: {info}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The index of the master that holds `key` (a cluster), by asking
    /// `CLUSTER KEYSLOT` and `CLUSTER SLOTS`.
    pub fn master_of(&self, key: &str) -> usize {
        let mut con = self.node_connection(self.running_node()).unwrap();
        let slot: i64 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut con)
            .unwrap();
        let slots: Vec<Vec<redis::Value>> =
            redis::cmd("CLUSTER").arg("SLOTS").query(&mut con).unwrap();
        for range in slots {
            let first: i64 = redis::from_redis_value(&range[0]).unwrap();
            let last: i64 = redis::from_redis_value(&range[1]).unwrap();
            let master: Vec<redis::Value> = redis::from_redis_value(&range[2]).unwrap();
            if (first..=last).contains(&slot) {
                let port: i64 = redis::from_redis_value(&master[1]).unwrap();
                return self
                    .nodes
                    .iter()
                    .position(|n| i64::from(n.port) == port)
                    .expect("a master of ours");
            }
        }
        panic!("slot {slot} is not served");
    }
}

/// Runs each named suite function as a test against each deployment:
/// `plain::NAME`, `tls::NAME`, `cluster::NAME` and `tls_cluster::NAME`.
#[allow(unused_macros)] // not every test file runs a suite
macro_rules! on_every_deployment {
    ($($test:ident),* $(,)?) => {
        mod plain {
            $( #[test] fn $test() { super::$test(super::Kind::Plain) } )*
        }
        #[cfg(feature = "redis-tls")]
        mod tls {
            $( #[test] fn $test() { super::$test(super::Kind::Tls) } )*
        }
        mod cluster {
            $( #[test] fn $test() { super::$test(super::Kind::Cluster) } )*
        }
        #[cfg(feature = "redis-tls")]
        mod tls_cluster {
            $( #[test] fn $test() { super::$test(super::Kind::TlsCluster) } )*
        }
    };
}
