/**
 * The tuple classes of javatuples 1.2 (`org.javatuples`: `Pair.with(a, b)`, `getValue0()`,
 * `equals`, `toString` as `[a, b]`, ...) as Java source for one file. MultiPL-E's Java programs
 * import `org.javatuples.*` and its evaluation puts `javatuples-1.2.jar` on the class path; the
 * sandbox compiles one file, so `multipl_e.ts` blanks that import and appends the classes the
 * program names, written here from javatuples' documented API.
 *
 * @module
 */

/** javatuples' classes by arity, with their type parameters. */
const TUPLES = [
  "Unit",
  "Pair",
  "Triplet",
  "Quartet",
  "Quintet",
  "Sextet",
  "Septet",
  "Octet",
  "Ennead",
  "Decade",
] as const;
const TYPE_PARAMETERS = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"] as const;

/** Names of the javatuples classes that `program` uses (by word, so a comment counts too). */
export function javatuplesUsed(program: string): string[] {
  return TUPLES.filter((name) => new RegExp(`\\b${name}\\b`).test(program));
}

/** Java source of the shared base class and of the named tuple classes. */
export function javatuplesSource(names: readonly string[]): string {
  if (names.length === 0) return "";
  const classes = names.map((name) => tupleClass(TUPLES.indexOf(name as typeof TUPLES[number])));
  return [BASE, ...classes].join("\n");
}

/** What every tuple shares (javatuples' `Tuple`): values as a list, order, equality, text. */
const BASE =
  `abstract class PpocoderTuple implements Iterable<Object>, Comparable<PpocoderTuple>, java.io.Serializable {
    private final java.util.List<Object> values;
    PpocoderTuple(Object... values) { this.values = java.util.Collections.unmodifiableList(java.util.Arrays.asList(values)); }
    public abstract int getSize();
    public final Object getValue(int pos) {
        if (pos < 0 || pos >= getSize()) throw new IllegalArgumentException("Cannot retrieve position " + pos + " in " + getClass().getSimpleName() + ". Positions for this class start with 0 and end with " + (getSize() - 1));
        return values.get(pos);
    }
    public final java.util.Iterator<Object> iterator() { return values.iterator(); }
    public final boolean contains(Object value) { return values.contains(value); }
    public final boolean containsAll(java.util.Collection<?> collection) { return values.containsAll(collection); }
    public final boolean containsAll(Object... collection) { return values.containsAll(java.util.Arrays.asList(collection)); }
    public final int indexOf(Object value) { return values.indexOf(value); }
    public final int lastIndexOf(Object value) { return values.lastIndexOf(value); }
    public final java.util.List<Object> toList() { return values; }
    public final Object[] toArray() { return values.toArray(); }
    @Override public final String toString() { return values.toString(); }
    @Override public final int hashCode() { return 31 + values.hashCode(); }
    @Override public final boolean equals(Object other) {
        if (this == other) return true;
        if (other == null || getClass() != other.getClass()) return false;
        return values.equals(((PpocoderTuple) other).values);
    }
    @SuppressWarnings({"unchecked", "rawtypes"})
    public final int compareTo(PpocoderTuple other) {
        for (int i = 0; i < values.size() && i < other.values.size(); i++) {
            int c = ((Comparable) values.get(i)).compareTo(other.values.get(i));
            if (c != 0) return c;
        }
        return Integer.compare(values.size(), other.values.size());
    }
}
`;

/** One tuple class of arity `index + 1`. */
function tupleClass(index: number): string {
  const name = TUPLES[index]!;
  const size = index + 1;
  const params = TYPE_PARAMETERS.slice(0, size);
  const generic = `<${params.join(", ")}>`;
  const args = params.map((p, i) => `${p} value${i}`).join(", ");
  const names = params.map((_, i) => `value${i}`).join(", ");
  const lines = [
    `final class ${name}${generic} extends PpocoderTuple {`,
    ...params.map((p, i) => `    private final ${p} val${i};`),
    `    public ${name}(${args}) { super(${names}); ${
      params.map((_, i) => `this.val${i} = value${i};`).join(" ")
    } }`,
    `    public static ${generic} ${name}${generic} with(${args}) { return new ${name}${generic}(${names}); }`,
    `    @SuppressWarnings("unchecked")`,
    `    public static <X> ${name}<${params.map(() => "X").join(", ")}> fromArray(X[] array) {`,
    `        if (array == null || array.length != ${size}) throw new IllegalArgumentException("Array must have exactly ${size} element${
      size === 1 ? "" : "s"
    } in order to create a ${name}");`,
    `        return new ${name}<${params.map(() => "X").join(", ")}>(${
      params.map((_, i) => `array[${i}]`).join(", ")
    });`,
    `    }`,
    `    @SuppressWarnings("unchecked")`,
    `    public static <X> ${name}<${
      params.map(() => "X").join(", ")
    }> fromCollection(java.util.Collection<X> collection) { return fromArray((X[]) collection.toArray()); }`,
    `    public int getSize() { return ${size}; }`,
    ...params.map((p, i) => `    public ${p} getValue${i}() { return val${i}; }`),
    ...params.map((_, i) => {
      const changed = params.map((q, j) => (j === i ? "X" : q)).join(", ");
      const values = params.map((_, j) => (j === i ? "value" : `val${j}`)).join(", ");
      return `    public <X> ${name}<${changed}> setAt${i}(X value) { return new ${name}<${changed}>(${values}); }`;
    }),
    `}`,
  ];
  return lines.join("\n") + "\n";
}
