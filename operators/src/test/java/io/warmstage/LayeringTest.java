package io.warmstage;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The package layers of the operators, bottom to top: memory, storage, format and device at the
 * ground; registry and host; cache; plan; source; staging; and api beside source and staging, using
 * neither. A package imports only packages below it, and no two top-level packages import each
 * other, directly or through others.
 */
@AnalyzeClasses(packages = "io.warmstage", importOptions = ImportOption.DoNotIncludeTests.class)
class LayeringTest {
    private static final String[] GROUND = {
        "io.warmstage.memory..",
        "io.warmstage.storage..",
        "io.warmstage.format..",
        "io.warmstage.device.."
    };

    @ArchTest
    static final ArchRule noCyclesBetweenTopLevelPackages =
            slices().matching("io.warmstage.(*)..").should().beFreeOfCycles();

    @ArchTest
    static final ArchRule eachLayerUsesOnlyTheLayersBelowIt =
            layeredArchitecture()
                    .consideringOnlyDependenciesInLayers()
                    .layer("Ground")
                    .definedBy(GROUND)
                    .layer("Registry")
                    .definedBy("io.warmstage.registry..")
                    .layer("Host")
                    .definedBy("io.warmstage.host..")
                    .layer("Cache")
                    .definedBy("io.warmstage.cache..")
                    .layer("Plan")
                    .definedBy("io.warmstage.plan..")
                    .layer("Source")
                    .definedBy("io.warmstage.source..")
                    .layer("Staging")
                    .definedBy("io.warmstage.staging..")
                    .layer("Api")
                    .definedBy("io.warmstage.api..")
                    .whereLayer("Ground")
                    .mayNotAccessAnyLayer()
                    .whereLayer("Registry")
                    .mayOnlyAccessLayers("Ground")
                    .whereLayer("Host")
                    .mayOnlyAccessLayers("Ground")
                    .whereLayer("Cache")
                    .mayOnlyAccessLayers("Ground", "Registry", "Host")
                    .whereLayer("Plan")
                    .mayOnlyAccessLayers("Ground", "Registry", "Host", "Cache")
                    .whereLayer("Source")
                    .mayOnlyAccessLayers("Ground", "Registry", "Host", "Cache", "Plan")
                    .whereLayer("Staging")
                    .mayOnlyAccessLayers("Ground", "Registry", "Host", "Cache", "Plan", "Source")
                    .whereLayer("Api")
                    .mayOnlyAccessLayers("Ground", "Registry", "Host", "Cache", "Plan");

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
