// SPDX-License-Identifier: GPL-2.0
/* A driver-shaped test module: device tables of several buses (their
 * aliases are made by modpost, as for real drivers), firmware, a version,
 * and a dash in its file name. */
#include <linux/acpi.h>
#include <linux/pci.h>
#include <linux/usb.h>
#include <linux/module.h>
#include <linux/mod_devicetable.h>
#include <linux/init.h>

static const struct pci_device_id devtab_pci[] = { { PCI_DEVICE(0x8086, 0x1521) },
						   { PCI_DEVICE(0x8086, 0x1522) },
						   { PCI_DEVICE(0x8086, 0x1523) },
						   { PCI_DEVICE(0x8086, 0x1524) },
						   { PCI_DEVICE(0x8086, 0x10c9) },
						   { PCI_DEVICE_CLASS(0x020000, 0xffff00) },
						   {} };
MODULE_DEVICE_TABLE(pci, devtab_pci);

static const struct usb_device_id devtab_usb[] = { { USB_DEVICE(0x0bda, 0x8179) },
						   { USB_DEVICE(0x0bda, 0x0179) },
						   { USB_DEVICE_AND_INTERFACE_INFO(0x2357, 0x010c, 0xff, 0xff,
										   0xff) },
						   {} };
MODULE_DEVICE_TABLE(usb, devtab_usb);

static const struct of_device_id devtab_of[] = { { .compatible = "vendor,devtab-v1" },
						 { .compatible = "vendor,devtab-v2" },
						 {} };
MODULE_DEVICE_TABLE(of, devtab_of);

static const struct acpi_device_id devtab_acpi[] = { { "INT33C2", 0 }, { "INT33C3", 0 }, {} };
MODULE_DEVICE_TABLE(acpi, devtab_acpi);

extern int hello_world(void);

static int __init devtab_init(void)
{
	return hello_world();
}

static void __exit devtab_exit(void)
{
}

MODULE_LICENSE("GPL");
MODULE_VERSION("1.2-rc3");
MODULE_FIRMWARE("vendor/devtab-fw-1.bin");
MODULE_FIRMWARE("vendor/devtab-fw-2.bin");
MODULE_ALIAS("devtab-compat");
module_init(devtab_init);
module_exit(devtab_exit);
