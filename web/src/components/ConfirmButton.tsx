import { Button, Group, Modal, Stack, Text, type ButtonProps } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState, type ReactNode } from 'react';

export interface ConfirmButtonProps extends Omit<ButtonProps, 'onClick'> {
  children: ReactNode;
  /** Title of the confirmation dialog. */
  title: string;
  /** What will happen, in words the user can check. */
  message: ReactNode;
  confirmLabel?: string;
  /** Runs on confirmation; the dialog stays open (button loading) until it settles. */
  onConfirm: () => Promise<unknown> | void;
}

/** A button for a destructive or disruptive action: it asks first, then runs the action. Red is shade 9 (white text 5.4:1). */
export function ConfirmButton({ children, title, message, confirmLabel = 'Confirm', onConfirm, color = 'red.9', ...buttonProps }: ConfirmButtonProps) {
  const [opened, { open, close }] = useDisclosure(false);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
      close();
    } catch {
      // The caller reports the failure (notification); keep the dialog so the user can retry or cancel.
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button color={color} {...buttonProps} onClick={open}>
        {children}
      </Button>
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={opened} onClose={close} title={title} centered>
        <Stack>
          {typeof message === 'string' ? <Text>{message}</Text> : message}
          <Group justify="flex-end">
            <Button variant="default" onClick={close} disabled={busy}>
              Cancel
            </Button>
            <Button color={color} loading={busy} onClick={() => void confirm()}>
              {confirmLabel}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
