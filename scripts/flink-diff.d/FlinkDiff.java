import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Runs Flink's own BashJavaUtils once per input line, in one JVM (a JVM per case would take
 * ~0.4 s each). Input: "COMMAND\tCONF_DIR\tkey=value\t..." per line. Output, one line per case:
 * the BASH_JAVA_UTILS_EXEC_RESULT lines joined by \u0001, or "EXCEPTION\u0001" and the
 * exception's toString() (what "Exception in thread main" prints), newlines escaped.
 */
public final class FlinkDiff {
    public static void main(String[] argv) throws Exception {
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t", -1);
            List<String> args = new ArrayList<>();
            args.add(f[0]);
            args.add("--configDir");
            args.add(f[1]);
            for (int i = 2; i < f.length; i++) {
                args.add("-D");
                args.add(f[i]);
            }
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            String result;
            try {
                org.apache.flink.runtime.util.bash.BashJavaUtils.main(args.toArray(new String[0]));
                System.out.flush();
                result = buf.toString(StandardCharsets.UTF_8).lines()
                        .filter(s -> s.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:"))
                        .collect(Collectors.joining("\u0001"));
            } catch (Throwable t) {
                result = "EXCEPTION\u0001" + t;
            } finally {
                System.setOut(out);
            }
            out.println(result.replace("\n", "\\n"));
        }
    }
}
