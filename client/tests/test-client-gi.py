#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""libberth-client from Python, through its typelib (BerthClient-1), as a
script would use it: berthd of the build tree ($BERTHD) with the test
backend plugin ($BERTH_PLUGIN_PATH) in throwaway XDG directories; list the
settings, start the VM and wait for the state-changed signals. TAP output.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

import gi

gi.require_version("GLib", "2.0")
gi.require_version("BerthClient", "1")
from gi.repository import BerthClient, GLib  # noqa: E402

WAIT_SECONDS = 30


class Failure(Exception):
    pass


def run_until(loop, done, what):
    """Runs the main loop until done(), for at most WAIT_SECONDS."""
    if done():
        return

    def check():
        if done():
            loop.quit()
        return GLib.SOURCE_CONTINUE

    sources = [GLib.timeout_add(20, check),
               GLib.timeout_add_seconds(WAIT_SECONDS, lambda: loop.quit())]
    loop.run()
    for source in sources:
        found = GLib.MainContext.default().find_source_by_id(source)
        if found is not None:
            found.destroy()
    if not done():
        raise Failure("timed out after %d s waiting for %s" % (WAIT_SECONDS, what))


def call(loop, start, finish, *args):
    """Runs an _async/_finish pair to its end; returns what finish gives."""
    results = []

    def done(client, result):
        results.append(result)
        loop.quit()

    start(*args, None, done)
    run_until(loop, lambda: results, start.__name__)
    return finish(results[0])


def main():
    tests = 0
    root = tempfile.mkdtemp(prefix="berth-client-gi-")
    env = dict(os.environ)
    for name, sub in (("HOME", ""), ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "share"),
                      ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state"),
                      ("XDG_RUNTIME_DIR", "run")):
        env[name] = os.path.join(root, sub)
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    env.pop("BERTH_API_PORT", None)
    credentials = os.path.join(env["XDG_DATA_HOME"], "berth", "berth-engine.json")
    # In this process group: meson's timeout ends it with the test.
    berthd = subprocess.Popen([os.environ["BERTHD"], "--port", "0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    loop = GLib.MainLoop()
    print("1..3", flush=True)
    try:
        run_until(loop, lambda: os.path.exists(credentials) or berthd.poll() is not None,
                  "berthd's credentials file")
        if berthd.poll() is not None:
            raise Failure("berthd exited with status %d" % berthd.returncode)

        client = BerthClient.Client.new()
        client.props.credentials_path = credentials
        states = []
        client.connect("state-changed",
                       lambda c, state, reason, serial, restarting:
                       states.append((state, serial)))
        call(loop, client.connect_async, client.connect_finish,
             BerthClient.ClientConnectFlags.NONE)
        if not client.props.connected or client.props.state != BerthClient.ClientState.STOPPED:
            raise Failure("connected %s in state %s" % (client.props.connected,
                                                         client.props.state))
        tests += 1
        print("ok %d - connected through the typelib, berthd STOPPED" % tests, flush=True)

        settings = call(loop, client.get_settings_async, client.get_settings_finish)
        top = settings.get_object().get_members()
        if "virtualMachine" not in top or "containerEngine" not in top:
            raise Failure("the settings lack virtualMachine or containerEngine: %s" % top)
        tests += 1
        print("ok %d - the settings, listed: %s" % (tests, ", ".join(sorted(top))), flush=True)

        accepted, state, since = call(loop, client.start_async, client.start_finish)
        if not accepted or since < 0:
            raise Failure("the start was not accepted (%s, serial %d)" % (accepted, since))
        run_until(loop,
                  lambda: any(s == BerthClient.ClientState.STARTED and n >= since
                              for s, n in states),
                  "state-changed to STARTED")
        seen = [BerthClient.ClientState.to_string(s) for s, n in states if n >= since]
        if seen[:2] != ["STARTING", "STARTED"]:
            raise Failure("the states after the start were %s" % seen)
        tests += 1
        print("ok %d - state-changed: %s" % (tests, " -> ".join(seen)), flush=True)
        call(loop, client.shutdown_async, client.shutdown_finish)
        berthd.wait(WAIT_SECONDS)
    except (Failure, GLib.Error, subprocess.TimeoutExpired) as e:
        print("not ok %d - %s" % (tests + 1, e), flush=True)
        for n in range(tests + 2, 4):
            print("not ok %d - not run after the failure above" % n, flush=True)
        return 1
    finally:
        if berthd.poll() is None:
            berthd.send_signal(signal.SIGKILL)
            berthd.wait()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
