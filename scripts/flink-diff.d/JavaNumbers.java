import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.util.Locale;

/**
 * For each input line "FLOAT_TEXT\tBYTES", prints what Flink's arithmetic does with the fraction
 * FLOAT_TEXT (Float.parseFloat, widened to double): Double.toString, BigDecimal.valueOf(bytes)
 * .multiply(BigDecimal.valueOf(d)).longValue() (MemorySize.multiply) and
 * String.format(Locale.ROOT, "%.3f", d * 1000) (MemorySize.toHumanReadableString's format).
 */
public final class JavaNumbers {
    public static void main(String[] argv) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split("\t");
            double d = (double) Float.parseFloat(f[0]);
            long bytes = Long.parseLong(f[1]);
            long product = BigDecimal.valueOf(bytes).multiply(BigDecimal.valueOf(d)).longValue();
            out.append(f[0]).append('\t').append(f[1]).append('\t').append(Double.toString(d))
                    .append('\t').append(product).append('\t')
                    .append(String.format(Locale.ROOT, "%.3f", d * 1000)).append('\n');
        }
        System.out.print(out);
    }
}
