/**
 * Shared, read-only build caches. Go compiles the standard library packages a program imports
 * into its build cache (GOCACHE); with an empty cache a hello world takes tens of seconds. So the
 * executor fills a cache once per Go toolchain, outside the sandbox, by building a program of
 * its own that imports the commonly used packages; every build step then sees that cache
 * read-only under an overlay whose writable layer lies in the execution's own work dir. No
 * execution can write to what another one reads.
 *
 * @module
 */

import { LANGUAGES, type LanguageSpec } from "./languages.ts";
import type { Toolchain } from "./toolchains.ts";

const GO_WARM_UP = `package main

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"container/list"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"math/bits"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

var _ = []any{bufio.NewReader, bytes.Compare, cmp.Compare[int], heap.Init, list.New, json.Marshal,
	errors.New, io.EOF, maps.Keys[map[int]int], math.Abs, big.NewInt, bits.Len, rand.Intn, net.Dial,
	os.Exit, exec.Command, signal.Notify, filepath.Join, regexp.MustCompile, slices.Sort[[]int],
	sort.Ints, strconv.Itoa, strings.Split, sync.NewCond, time.Now, unicode.IsDigit, utf8.RuneLen}

func main() { fmt.Println() }
`;

/** Environment of Go builds, the same inside the sandbox and for the warm-up (cache keys). */
export const GO_ENV = LANGUAGES.go.env;

/** Where caches live unless the executor is told otherwise. */
export function defaultCacheDir(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${base}/ppocoder/sandbox`;
}

/**
 * Makes sure the build caches of `toolchains` exist under `root`, filling missing ones.
 * Returns the host folder of each cache by name; a cache that cannot be filled is left out and
 * noted (its builds then start cold).
 */
export async function prepareBuildCaches(
  toolchains: readonly Toolchain[],
  root: string,
  notes: string[],
): Promise<Record<string, string>> {
  const caches: Record<string, string> = {};
  for (const toolchain of toolchains) {
    const spec: LanguageSpec = LANGUAGES[toolchain.language];
    if (spec.buildCache !== "go") continue;
    const go = toolchain.tools.go!;
    const dir = `${root}/go-${await shortHash(`${go.path}\n${go.version}\n${GO_WARM_UP}`)}`;
    try {
      if (!await exists(`${dir}/READY`)) await warmGo(go.path, dir);
      caches.go = dir;
    } catch (error) {
      notes.push(`the Go build cache could not be filled, so Go builds start cold: ${error}`);
    }
  }
  return caches;
}

async function warmGo(go: string, dir: string): Promise<void> {
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  await Deno.mkdir(parent, { recursive: true });
  const work = await Deno.makeTempDir({ dir: parent, prefix: ".warm-" });
  try {
    await Deno.writeTextFile(`${work}/main.go`, GO_WARM_UP);
    const env: Record<string, string> = {
      ...GO_ENV,
      PATH: `${go.slice(0, go.lastIndexOf("/"))}:/usr/bin:/bin`,
      HOME: work,
      LANG: "C.UTF-8",
      GOCACHE: `${work}/cache`,
      GOPATH: `${work}/gopath`,
    };
    const output = await new Deno.Command(go, {
      args: ["build", "-o", "main", "main.go"],
      cwd: work,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(
        `"go build" of the warm-up program failed: ${new TextDecoder().decode(output.stderr)}`,
      );
    }
    await Deno.writeTextFile(`${work}/cache/READY`, "");
    await Deno.chmod(work, 0o755);
    try {
      await Deno.rename(`${work}/cache`, dir);
    } catch (error) {
      // Another executor filled it first.
      if (!await exists(`${dir}/READY`)) throw error;
    }
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** Whether `path` exists (also used by the compile service's builds). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function shortHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest).slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}
