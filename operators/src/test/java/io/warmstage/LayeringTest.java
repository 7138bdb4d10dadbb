package io.warmstage;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.CompositeArchRule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The package layers of the operators, bottom to top: memory, storage, format, device, registry,
 * host, cache, plan, source, staging, api. A package imports only packages below it in that order,
 * so no two top-level packages import each other, directly or through others; api, on top, uses
 * neither source nor staging.
 */
@AnalyzeClasses(packages = "io.warmstage", importOptions = ImportOption.DoNotIncludeTests.class)
class LayeringTest {
    /** Bottom to top. */
    private static final List<String> ORDER =
            List.of(
                    "memory",
                    "storage",
                    "format",
                    "device",
                    "registry",
                    "host",
                    "cache",
                    "plan",
                    "source",
                    "staging",
                    "api");

    @ArchTest static final ArchRule eachPackageUsesOnlyThePackagesBelowIt = layers();

    private static ArchRule layers() {
        List<ArchRule> rules = new ArrayList<>();
        for (int i = 0; i < ORDER.size() - 1; i++) {
            String[] above =
                    ORDER.subList(i + 1, ORDER.size()).stream()
                            .map(p -> "io.warmstage." + p + "..")
                            .toArray(String[]::new);
            rules.add(
                    noClasses()
                            .that()
                            .resideInAPackage("io.warmstage." + ORDER.get(i) + "..")
                            .should()
                            .dependOnClassesThat()
                            .resideInAnyPackage(above)
                            .because(ORDER.get(i) + " sits below " + Arrays.toString(above)));
        }
        return CompositeArchRule.of(rules);
    }

    @ArchTest
    static final ArchRule hostCacheAndPlanKnowNothingOfTheFlinkSourceOrStaging =
            noClasses()
                    .that()
                    .resideInAnyPackage(
                            "io.warmstage.host..", "io.warmstage.cache..", "io.warmstage.plan..")
                    .should()
                    .dependOnClassesThat()
                    .resideInAnyPackage("io.warmstage.source..", "io.warmstage.staging..");

    @ArchTest
    static final ArchRule theJavaApiKnowsNothingOfTheFlinkSourceOrStaging =
            noClasses()
                    .that()
                    .resideInAPackage("io.warmstage.api..")
                    .should()
                    .dependOnClassesThat()
                    .resideInAnyPackage("io.warmstage.source..", "io.warmstage.staging..");

    @ArchTest
    static final ArchRule planningAndHostsRunWithoutFlinksRuntime =
            noClasses()
                    .that()
                    .resideInAnyPackage("io.warmstage.plan..", "io.warmstage.host..")
                    .should()
                    .dependOnClassesThat()
                    .resideInAnyPackage(
                            "org.apache.flink.streaming..",
                            "org.apache.flink.api.connector..",
                            "org.apache.flink.runtime..");
}
