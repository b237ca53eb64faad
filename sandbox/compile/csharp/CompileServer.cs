// The persistent C# compile worker of sandbox/compile: one Mono process with the mcs compiler
// (the very mcs.exe that /usr/bin/mcs runs) loaded once and driven in-process the way mcs's own
// Main does: parse the arguments, run a Driver, and count the Report's errors; the compiler's
// static state is reset after every compilation (CompilerCallableEntryPoint.Reset).
//
// Protocol (one line each way):
//   "C <id>"        compiles /box/jobs/<id>/Program.cs alone; answers "<id> <rc>".
//   "B <id> <id>.." compiles the files together, each wrapped in a namespace of its own
//                   (/box/jobs/<id>/W.cs), in rounds: a file with an error located in it fails;
//                   the others are compiled again without the failed ones, until a round
//                   compiles cleanly (they all pass) or none is left. Any doubt (an error with no
//                   file, more lines that look like errors than the compiler counted, an
//                   exception) compiles the rest alone. Answers "<id> <rc>" per id.
// rc: 0 compiled, 1 compile errors, 3 the compiler threw or reported an internal error (CS0584)
// (the caller re-checks it alone with the plain mcs). Diagnostics go to /box/jobs/<id>/diag.txt.
//
// The caller batches only files that cannot reach outside their wrapper (sandbox/compile/_csharp.ts);
// each round's parse is checked for that all the same (Contained): every file declares exactly its
// own wrapper namespace at its top level, with no namespace inside it, no using directive or extern
// alias outside it, and the module has no assembly or module attribute. A round that breaks this is
// not trusted: its files are compiled alone. The compiler's output is removed after each compile.
//
// "--names DIR" instead lists the top-level names of mcs's default references in DIR (mscorlib,
// System, System.Xml, System.Core, Microsoft.CSharp): "top <name>" for each top-level namespace and
// type of the global namespace, and "imported <name>" for those that also name a type inside a
// namespace. The batching check needs them (see _csharp.ts).

using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

static class CompileServer {
  const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
  static string jobs;
  static string[] baseArgs;
  static Type parserT, printerT, ctxT, driverT;
  static MethodInfo resetM;
  static PropertyInfo toplevelP;
  static Type namespaceT;
  static Regex errorLine, wrappedFile;
  static string output;
  // Errors the compiler counted in its last compile (one line each in its diagnostics).
  static int lastErrors;

  static int Main(string[] args) {
    if (args.Length == 2 && args[0] == "--names") return ListNames(args[1]);
    var mcs = Assembly.LoadFrom(args[0]);
    jobs = args[1];
    errorLine = new Regex("^" + Regex.Escape(jobs) + @"/([A-Za-z0-9_]+)/W\.cs\(\d+,\d+\+?\): error CS");
    wrappedFile = new Regex("^" + Regex.Escape(jobs) + @"/([0-9]+)/W\.cs$");
    baseArgs = new string[args.Length - 3];
    Array.Copy(args, 3, baseArgs, 0, baseArgs.Length);
    foreach (var arg in baseArgs) if (arg.StartsWith("-out:", StringComparison.Ordinal)) output = arg.Substring(5);
    toplevelP = mcs.GetType("Mono.CSharp.RootContext", true)
      .GetProperty("ToplevelTypes", BindingFlags.Public | BindingFlags.Static);
    namespaceT = mcs.GetType("Mono.CSharp.NamespaceContainer", true);
    parserT = mcs.GetType("Mono.CSharp.CommandLineParser", true);
    printerT = mcs.GetType("Mono.CSharp.StreamReportPrinter", true);
    ctxT = mcs.GetType("Mono.CSharp.CompilerContext", true);
    driverT = mcs.GetType("Mono.CSharp.Driver", true);
    resetM = mcs.GetType("Mono.CSharp.CompilerCallableEntryPoint", true)
      .GetMethod("Reset", BindingFlags.Public | BindingFlags.Static, null, Type.EmptyTypes, null);
    var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
    var stdout = Console.OpenStandardOutput();
    Console.SetOut(TextWriter.Null);
    Console.SetError(TextWriter.Null);
    Reply(stdout, "ready");
    for (string line; (line = stdin.ReadLine()) != null; ) {
      var parts = line.Trim().Split(' ');
      if (parts.Length < 2) continue;
      var ids = new List<string>(parts);
      ids.RemoveAt(0);
      if (parts[0] == "C") foreach (var id in ids) Reply(stdout, id + " " + Single(id));
      else if (parts[0] == "B") foreach (var kv in Batch(ids)) Reply(stdout, kv.Key + " " + kv.Value);
    }
    return 0;
  }

  static void Reply(Stream stdout, string line) {
    var bytes = Encoding.UTF8.GetBytes(line + "\n");
    stdout.Write(bytes, 0, bytes.Length);
    stdout.Flush();
  }

  static string JobFile(string id, string name) { return Path.Combine(jobs, id, name); }

  static int Single(string id) {
    var diag = new StringWriter();
    int rc = Compile(new[] { JobFile(id, "Program.cs") }, diag);
    File.WriteAllText(JobFile(id, "diag.txt"), diag.ToString());
    return rc;
  }

  // Compiles `files` into one library: 0 no errors, 1 errors, 3 the compiler threw. With `ids`
  // (a batch round), also 3 when a file reached outside its wrapper (see Contained).
  static int Compile(string[] files, TextWriter diag, List<string> ids = null) {
    var argv = new string[baseArgs.Length + files.Length];
    baseArgs.CopyTo(argv, 0);
    files.CopyTo(argv, baseArgs.Length);
    try {
      var parser = Activator.CreateInstance(parserT, new object[] { diag });
      var settings = parserT.GetMethod("ParseArguments", new[] { typeof(string[]) })
        .Invoke(parser, new object[] { argv });
      if (settings == null) return 1;
      var printer = Activator.CreateInstance(printerT, new object[] { diag });
      var ctx = Activator.CreateInstance(ctxT, new object[] { settings, printer });
      var driver = Activator.CreateInstance(driverT, Any, null, new object[] { ctx }, null);
      bool ok = (bool)driverT.GetMethod("Compile", Any).Invoke(driver, null);
      var report = driverT.GetProperty("Report", Any).GetValue(driver, null);
      int errors = (int)report.GetType().GetProperty("Errors", Any).GetValue(report, null);
      lastErrors = errors;
      // An internal compiler error (a stack overflow, say) depends on the process: not a verdict.
      if (diag.ToString().Contains("error CS0584")) return 3;
      if (ids != null && !Contained(ids)) {
        diag.WriteLine("compile server: a file of the batch reached outside its wrapper");
        return 3;
      }
      return ok && errors == 0 ? 0 : 1;
    } catch (Exception e) {
      diag.WriteLine("compile server: " + (e.InnerException ?? e));
      return 3;
    } finally {
      resetM.Invoke(null, null);
      if (output != null) File.Delete(output);
    }
  }

  static object Member(object target, string name) {
    for (var type = target.GetType(); type != null; type = type.BaseType) {
      var flags = Any | BindingFlags.DeclaredOnly;
      var field = type.GetField(name, flags);
      if (field != null) return field.GetValue(target);
      var property = type.GetProperty(name, flags);
      if (property != null) return property.GetValue(target, null);
    }
    throw new MissingMemberException(target.GetType().FullName, name);
  }

  static bool Empty(object list) { return list == null || ((System.Collections.ICollection)list).Count == 0; }

  // Whether the parse of the last compile is that of wrapped files that stay inside their wrappers:
  // each file of `ids` once, each declaring exactly `namespace __ppo_b_<id>` at its top level (no
  // using directive, extern alias or attribute outside it, no namespace inside it), and no assembly
  // or module attribute anywhere.
  static bool Contained(List<string> ids) {
    var module = toplevelP.GetValue(null, null);
    if (module == null || Member(module, "OptAttributes") != null) return false;
    var seen = new HashSet<string>();
    foreach (var file in (System.Collections.IEnumerable)Member(module, "Containers")) {
      var name = wrappedFile.Match((string)Member(file, "FileName"));
      var id = name.Groups[1].Value;
      if (!name.Success || !ids.Contains(id) || !seen.Add(id)) return false;
      if (!Empty(Member(file, "clauses")) || Member(file, "UnattachedAttributes") != null) return false;
      var top = new List<object>();
      foreach (var c in (System.Collections.IEnumerable)Member(file, "Containers")) top.Add(c);
      if (top.Count != 1 || top[0].GetType() != namespaceT) return false;
      var wrapper = Member(top[0], "MemberName");
      if ((string)Member(wrapper, "Name") != "__ppo_b_" + id || Member(wrapper, "Left") != null) return false;
      foreach (var inner in (System.Collections.IEnumerable)Member(top[0], "Containers")) {
        if (namespaceT.IsInstanceOfType(inner)) return false;
      }
    }
    return seen.Count == ids.Count;
  }

  // Lists the top-level names of mcs's default references (see the file's header).
  static int ListNames(string dir) {
    var top = new SortedSet<string>(StringComparer.Ordinal);
    var inner = new SortedSet<string>(StringComparer.Ordinal);
    var corlib = typeof(object).Assembly;
    if (Path.GetFullPath(Path.GetDirectoryName(corlib.Location)) != Path.GetFullPath(dir)) {
      Console.Error.WriteLine("compile server: mscorlib is not in " + dir + " but in " + corlib.Location);
      return 2;
    }
    foreach (var name in new[] { "mscorlib", "System", "System.Xml", "System.Core", "Microsoft.CSharp" }) {
      var assembly = name == "mscorlib" ? corlib : Assembly.LoadFrom(Path.Combine(dir, name + ".dll"));
      Type[] types;
      try { types = assembly.GetTypes(); } catch (ReflectionTypeLoadException e) { types = e.Types; }
      foreach (var type in types) {
        if (type == null || type.IsNested) continue;
        var simple = type.Name.Split('`')[0];
        if (string.IsNullOrEmpty(type.Namespace)) top.Add(simple);
        else { top.Add(type.Namespace.Split('.')[0]); inner.Add(simple); }
      }
    }
    foreach (var name in top) Console.WriteLine("top " + name);
    foreach (var name in top) if (inner.Contains(name)) Console.WriteLine("imported " + name);
    return 0;
  }

  static Dictionary<string, int> Batch(List<string> ids) {
    var result = new Dictionary<string, int>();
    var pending = new List<string>();
    foreach (var id in ids) {
      var source = File.ReadAllText(JobFile(id, "Program.cs"), new UTF8Encoding(false));
      File.WriteAllText(JobFile(id, "W.cs"), "namespace __ppo_b_" + id + " {" + source + "\n}\n");
      pending.Add(id);
    }
    while (pending.Count > 0) {
      var files = pending.ConvertAll(id => JobFile(id, "W.cs")).ToArray();
      var diag = new StringWriter();
      int rc = Compile(files, diag, pending);
      if (rc == 0) {
        foreach (var id in pending) { result[id] = 0; File.WriteAllText(JobFile(id, "diag.txt"), ""); }
        break;
      }
      int lines = 0;
      var failed = rc == 1 ? ErrorsByFile(diag.ToString(), out lines) : new Dictionary<string, StringBuilder>();
      // More error lines than errors: a message's own text (an Obsolete attribute's, say) holds a
      // line that looks like another file's error. Nothing in this round's text is trusted then.
      if (failed.Count == 0 || lines != lastErrors || !AllKnown(failed, pending)) {
        foreach (var id in pending) result[id] = Single(id);
        break;
      }
      foreach (var kv in failed) {
        result[kv.Key] = 1;
        File.WriteAllText(JobFile(kv.Key, "diag.txt"), kv.Value.ToString());
        pending.Remove(kv.Key);
      }
    }
    var ordered = new Dictionary<string, int>();
    foreach (var id in ids) ordered[id] = result[id];
    return ordered;
  }

  static bool AllKnown(Dictionary<string, StringBuilder> failed, List<string> pending) {
    foreach (var id in failed.Keys) if (!pending.Contains(id)) return false;
    return true;
  }

  // Error lines by the job they are located in, and how many lines look like errors; an error
  // located nowhere (or elsewhere) empties the answer, which sends the whole round to single
  // compiles.
  static Dictionary<string, StringBuilder> ErrorsByFile(string text, out int lines) {
    var byId = new Dictionary<string, StringBuilder>();
    lines = 0;
    foreach (var line in text.Split('\n')) {
      if (line.IndexOf(" error CS", StringComparison.Ordinal) < 0 && !line.StartsWith("error CS")) continue;
      lines++;
      var m = errorLine.Match(line);
      if (!m.Success) return new Dictionary<string, StringBuilder>();
      var id = m.Groups[1].Value;
      if (!byId.ContainsKey(id)) byId[id] = new StringBuilder();
      byId[id].AppendLine(line);
    }
    return byId;
  }
}
