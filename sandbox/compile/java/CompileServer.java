// The persistent Java compile worker of sandbox/compile: one JVM, javac loaded and warm, compiling
// one job at a time through javac's own launcher entry point (com.sun.tools.javac.Main.compile), so
// option handling and exit codes are those of the plain `javac` command.
//
// Protocol (one line each way): "C <id>" compiles /box/jobs/<id>/Main.java with the arguments
// given on our command line after "--", writes the diagnostics to /box/jobs/<id>/diag.txt and
// answers "<id> <rc>", where rc is javac's exit code (0 ok, 1 errors, 2 bad options, 3 system
// error such as StackOverflowError or OutOfMemoryError, 4 abnormal). The caller re-checks any rc
// other than 0 and 1 with the plain compiler alone.
//
// Compiles run on a thread with a smaller stack than the plain launcher's, so that a source deep
// enough to overflow javac's recursion overflows here first (rc 3) and is re-checked alone.
//
// Each compile starts as the plain one does: javac's output folder (-d) is removed after every
// job, so that class files neither pile up in the sandbox's memory nor outlive their job (javac
// does not search its output folder, and each compile is a new javac context).

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

public final class CompileServer {
  private static final long STACK_BYTES = 512L * 1024L;

  public static void main(String[] args) throws Exception {
    int sep = Arrays.asList(args).indexOf("--");
    String jobs = args[0];
    List<String> javacArgs = Arrays.asList(args).subList(sep + 1, args.length);
    int output = javacArgs.indexOf("-d");
    Path classes = output < 0 ? null : Path.of(javacArgs.get(output + 1));
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    OutputStream out = new FileOutputStream(FileDescriptor.out);
    PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
    System.setOut(sink);
    System.setErr(sink);
    out.write("ready\n".getBytes(StandardCharsets.UTF_8));
    out.flush();
    for (String line; (line = in.readLine()) != null; ) {
      String[] parts = line.trim().split(" ");
      if (parts.length != 2 || !parts[0].equals("C")) continue;
      String id = parts[1];
      Path dir = Path.of(jobs, id);
      int rc = compile(javacArgs, dir);
      if (classes != null) removeTree(classes);
      out.write((id + " " + rc + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
  }

  private static void removeTree(Path root) throws Exception {
    if (!Files.exists(root)) return;
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(path);
      }
    }
  }

  private static int compile(List<String> javacArgs, Path dir) throws Exception {
    List<String> argv = new ArrayList<>(javacArgs);
    argv.add(dir.resolve("Main.java").toString());
    StringWriter diag = new StringWriter();
    int[] rc = {4};
    Runnable task = () -> {
      try (PrintWriter writer = new PrintWriter(diag, true)) {
        rc[0] = com.sun.tools.javac.Main.compile(argv.toArray(new String[0]), writer);
      } catch (Throwable e) {
        rc[0] = 4;
        diag.write("compile server: " + e);
      }
    };
    Thread thread = new Thread(null, task, "javac", STACK_BYTES);
    thread.start();
    thread.join();
    Files.writeString(dir.resolve("diag.txt"), diag.toString(), StandardCharsets.UTF_8);
    return rc[0];
  }
}
