package io.warmstage.job.cli;

import io.warmstage.device.Device;
import io.warmstage.device.DeviceException;
import io.warmstage.device.Devices;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/** Checks at start-up that the device asked for can be opened on this host. */
final class DeviceCheck {
    private DeviceCheck() {}

    /**
     * @throws ParameterException for a device name that is not cpu, cuda, cuda:N or auto
     * @throws CliFailure with the device's one-line reason when it cannot be opened here
     */
    static void require(CommandLine cmd, String spec) {
        try (Device d = Devices.open(spec, 0)) {
            d.name();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cmd, e.getMessage());
        } catch (DeviceException e) {
            throw new CliFailure(e.getMessage());
        }
    }
}
