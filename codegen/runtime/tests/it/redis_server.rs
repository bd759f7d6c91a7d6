//! A throwaway `redis-server` per test, killed on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub url: String,
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl RedisServer {
    /// Starts a server, or returns `None` when `CONTRACTOR_SKIP_REDIS_TESTS=1`. Panics with
    /// installation advice when `redis-server` is missing.
    pub fn start() -> Option<Self> {
        if std::env::var("CONTRACTOR_SKIP_REDIS_TESTS").as_deref() == Ok("1") {
            eprintln!("CONTRACTOR_SKIP_REDIS_TESTS=1: skipping a Redis test");
            return None;
        }
        let Some(bin) = find_on_path("redis-server") else {
            panic!(
                "redis-server is not on PATH; install it (`apt-get install -y redis-server`) \
                 or set CONTRACTOR_SKIP_REDIS_TESTS=1 to skip the Redis tests"
            );
        };
        // The port is free when probed; another process could take it before redis binds, so
        // try a few times.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("probe a free port");
            let mut child = Command::new(&bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if answers_ping(port) {
                    return Some(Self {
                        child,
                        url: format!("redis://127.0.0.1:{port}/"),
                    });
                }
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
