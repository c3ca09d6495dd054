/**
 * A real OpenSSH sshd for the login tests: a free port on 127.0.0.1, a key-only configuration
 * whose host key, pid file and authorized keys live in the test's DIR/ssh, and a wait for the
 * listener. Run it in a tests/namespace.ts namespace so that its users never touch the host.
 */
export function freePort(): number {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    try {
      const l = Deno.listen({ hostname: "127.0.0.1", port });
      l.close();
      return port;
    } catch { /* in use: try another */ }
  }
  throw new Error("no free port");
}

export async function waitForPort(port: number, child: Deno.ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  const out = await child.output();
  throw new Error(`sshd did not start: ${new TextDecoder().decode(out.stderr)}`);
}

export function sshdConfig(dir: string, port: number): string {
  return [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/ssh/host_ed25519`,
    `PidFile ${dir}/ssh/sshd.pid`,
    `AuthorizedKeysFile ${dir}/ssh/keys/%u`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "PermitRootLogin no",
    "StrictModes yes",
    "X11Forwarding no",
    "AllowTcpForwarding no",
    "PrintMotd no",
    // jailkit needs the external sftp-server: internal-sftp would bypass the login shell.
    "Subsystem sftp /usr/lib/openssh/sftp-server",
    "LogLevel VERBOSE",
    "",
  ].join("\n");
}
