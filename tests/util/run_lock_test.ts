import assert from "node:assert/strict";
import { hostname } from "node:os";
import { join } from "node:path";
import { lockRunFolder, RunFolderBusyError } from "../../src/util/run_lock.ts";

const LOCKER = `
import { lockRunFolder } from "${new URL("../../src/util/run_lock.ts", import.meta.url).href}";
await lockRunFolder(Deno.args[0]);
console.log("locked");
setInterval(() => {}, 60_000); // hold the lock until killed
`;

Deno.test("lockRunFolder()", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ppocoder-lock-" });
  const runDir = join(dir, "mbpp", "reference-0123");
  try {
    await t.step("refuses a second holder at once, naming the first", async () => {
      const lock = await lockRunFolder(runDir);
      try {
        const error = await lockRunFolder(runDir).catch((e) => e);
        assert.ok(error instanceof RunFolderBusyError);
        assert.match(
          error.message,
          new RegExp(
            `^Cannot use run folder "${runDir}" as another run is using it \\(pid ${Deno.pid} on ` +
              `${hostname()}, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\): a run folder takes one run at ` +
              `a time, so wait for that run to end \\(or stop it\\); rerunning the same command ` +
              `afterwards resumes it$`,
          ),
        );
      } finally {
        lock.release();
      }
    });

    await t.step("says which folder it cannot create, and what to pass", async () => {
      await assert.rejects(lockRunFolder("/proc/no-such/mbpp/run"), {
        message:
          /^Cannot create the run folder "\/proc\/no-such\/mbpp\/run": .*: pass --reports DIR with a folder this user can write$/,
      });
    });

    await t.step("is free again once released", async () => {
      const lock = await lockRunFolder(runDir);
      lock.release();
      lock.release(); // twice is harmless
      (await lockRunFolder(runDir)).release();
    });

    await t.step("is free again when its holder is killed with SIGKILL", async () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["eval", LOCKER, runDir],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.equal((await reader.read()).value?.trim(), "locked");
      await assert.rejects(lockRunFolder(runDir), RunFolderBusyError);
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      (await lockRunFolder(runDir)).release();
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
