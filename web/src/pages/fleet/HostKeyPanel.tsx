import { Alert, Button, Code, Group, Modal, Stack, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifyDone, notifyError } from '../../components/notifyError';
import { useSession } from '../../lib/session';
import { useAcceptHostKey, type Environment } from './api';
import { ago } from './format';

/** The host key pbfleet trusts, and, after a change on the host, the admin's choice to accept the new one. */
export function HostKeyPanel({ environment }: { environment: Environment }) {
  const { can } = useSession();
  const [opened, { open, close }] = useDisclosure(false);
  const accept = useAcceptHostKey(environment.id);
  const key = environment.hostKey;
  if (!key) return null;
  const mismatch = key.mismatch;

  const confirm = () => {
    if (!mismatch) return;
    accept.mutate(mismatch.fingerprint, {
      onSuccess: () => {
        close();
        notifyDone(`New host key of ${environment.name} accepted`);
      },
      onError: (error) => notifyError('Host key not accepted', error),
    });
  };

  return (
    <Stack gap="xs">
      <Text size="sm">
        Host key:{' '}
        {key.fingerprint ? (
          <Code data-testid="host-key">{key.fingerprint}</Code>
        ) : (
          <Text span c="dimmed">
            not seen yet (trusted on first connection)
          </Text>
        )}
        {key.fingerprint && (key.pinned ? ' · pinned' : key.trustedAt ? ` · trusted on first use ${ago(key.trustedAt)}` : '')}
      </Text>
      {mismatch && (
        <Alert color="red" title="Host key changed" role="alert">
          <Stack gap="xs">
            <Text size="sm">
              {environment.name} presented a different host key {ago(mismatch.seenAt)}. pbfleet will not connect until the new key is accepted. If nobody reinstalled
              the server or changed its SSH keys, this may be an attack.
            </Text>
            {can('admin') ? (
              <Group>
                <Button color="red.9" variant="outline" onClick={open}>
                  Review and accept new key
                </Button>
              </Group>
            ) : (
              <Text size="sm">Ask an admin to review and accept the new key.</Text>
            )}
          </Stack>
        </Alert>
      )}
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={opened} onClose={close} title="Accept the new host key?" centered size="lg">
        <Stack>
          <Text size="sm">Compare the new fingerprint with the one the server shows (ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub) before accepting.</Text>
          <Text size="sm" fw={600}>
            Trusted until now
          </Text>
          <Code block data-testid="old-fingerprint">
            {key.fingerprint ?? 'none'}
          </Code>
          <Text size="sm" fw={600}>
            Presented now
          </Text>
          <Code block data-testid="new-fingerprint">
            {mismatch?.fingerprint ?? ''}
          </Code>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="red.9" loading={accept.isPending} onClick={confirm}>
              Accept new key
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
